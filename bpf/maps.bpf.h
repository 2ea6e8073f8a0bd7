/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Every map of the data path. All are pinned by name under
 * SLOTLB_PIN_ROOT, so a reloaded program finds the same flows, endpoints
 * and routing elements, and the controller can restart at will.
 */
#ifndef SLOTLB_MAPS_BPF_H
#define SLOTLB_MAPS_BPF_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <slotlb/abi.h>

/* The layout version of the maps pinned with it (abi.h); read and
 * written by userspace only, which upgrades older layouts. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct slotlb_layout);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} layout SEC(".maps");

/* Endpoint (VIP:port/proto) -> app and slot. Not preallocated, so an
 * updated element is a fresh one rather than a recycled one. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct slotlb_endpoint_key);
	__type(value, struct slotlb_endpoint);
	__uint(max_entries, SLOTLB_MAX_ENDPOINTS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} endpoints SEC(".maps");

/* Addresses carrying an endpoint, or whose endpoints were deleted while
 * flows still used them (value: endpoints | SLOTLB_ADDR_RETIRED; the GC
 * removes a retired address once no flow uses it). Tells traffic for
 * endpoints and pinned flows apart from host traffic. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct slotlb_addr_key);
	__type(value, __u32);
	__uint(max_entries, SLOTLB_MAX_ENDPOINTS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} endpoint_addrs SEC(".maps");

/* The endpoint-address filter (abi.h, SLOTLB_FILTER_WORDS): a clear bit
 * says an address is in no endpoint_addrs, with one array read; its
 * word 1 says whether any backend is down or drained with resets
 * (SLOTLB_FILTER_CHECKS), on the cache line of word 0 that every packet
 * reads. Derived from endpoint_addrs, backend_health and backend_drain
 * by every slotlb_open, so it is no part of the pinned layout: libslotlb
 * pins it itself (user/lib/loader.c). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 2 + SLOTLB_FILTER_WORDS);
} endpoint_filter SEC(".maps");

/* Addresses of live backends: only packets from them can be replies, so
 * other traffic that is not for an endpoint skips the flow table. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct slotlb_addr_key);
	__type(value, __u32);
	__uint(max_entries, SLOTLB_MAX_BACKEND_ADDRS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} backend_addrs SEC(".maps");

/* app id -> index of its routing element in routing_pool (0 = none),
 * and in the high half the index of the element before its last change
 * (a hint for handshakes that crossed it; abi.h, struct slotlb_routing).
 * Memory-mappable: the controller swaps an app with one aligned 8-byte
 * store, which takes effect for the next packet and needs no syscall.
 * (8 bytes because array elements are 8-byte strided in the mapping.) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, SLOTLB_MAX_APPS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} app_routing SEC(".maps");

/* Routing elements, written only while no reader can reach them. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct slotlb_routing);
	__uint(max_entries, SLOTLB_ROUTING_POOL);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} routing_pool SEC(".maps");

/* Maglev lookup table of one deployment: position -> backend id. */
struct deployment_ring {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, SLOTLB_RING_SIZE);
};

/* SLOTLB_RING_INDEX(deployment id, family) -> the ring of that
 * deployment's backends of that family, built completely before it is
 * referenced. One ring per family lets a dual-stack deployment serve
 * IPv4 clients from its IPv4 backends and IPv6 clients from its IPv6 ones. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, 2 * SLOTLB_MAX_DEPLOYMENTS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct deployment_ring);
} deployment_rings SEC(".maps");

/* The same index -> the ring that slot held before its last republish
 * (a backend drained, down, reweighted), for a handshake whose SYN the
 * old ring sent: its ACK computes the half-open key from this ring when
 * the current one misses. A hint, kept by libslotlb's publish (none
 * before the first republish, cleared with the deployment), so it is
 * no part of the pinned layout: libslotlb pins it itself
 * (user/lib/loader.c), as it does the endpoint filter. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, 2 * SLOTLB_MAX_DEPLOYMENTS);
	__array(values, struct deployment_ring);
} ring_history SEC(".maps");

/* backend id -> address; written before a ring references the id. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct slotlb_backend);
	__uint(max_entries, SLOTLB_MAX_BACKENDS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} backends SEC(".maps");

/* Backend id -> what to do with its pinned flows once its drain ran
 * out (bpf/drain.bpf.h); all zero: forward them. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct slotlb_backend_drain);
	__uint(max_entries, SLOTLB_MAX_BACKENDS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} backend_drain SEC(".maps");

/* deployment id -> label and size; read by userspace only. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct slotlb_deployment_info);
	__uint(max_entries, SLOTLB_MAX_DEPLOYMENTS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} deployment_info SEC(".maps");

/* Established IPv4 flows, client -> endpoint. Not an LRU: an entry
 * leaves by close or idle timeout (the GC), never to make room for an
 * unverified packet; when it is full a verified flow stays half-open
 * (SLOTLB_EVENT_TABLE_FULL). Preallocated, sized at load time. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct slotlb_flow4_key);
	__type(value, struct slotlb_flow4);
	__uint(max_entries, SLOTLB_DEFAULT_FLOW_CAPACITY);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flows4 SEC(".maps");

/* Reply index of flows4: reply 5-tuple -> endpoint (abi.h). An array so
 * it costs 16 bytes per flow of capacity instead of a second hash entry;
 * memory-mappable so the GC frees words with compare-and-swap. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct slotlb_reply_bucket);
	__uint(max_entries,
	       SLOTLB_DEFAULT_FLOW_CAPACITY / SLOTLB_REPLY_FLOWS_PER_BUCKET);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} reply_index SEC(".maps");

/* Established IPv6 flows, client -> endpoint, and their reply entries
 * (backend -> client). Allocated on use: IPv6 entries are larger and
 * usually fewer. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct slotlb_flow_key);
	__type(value, struct slotlb_flow6);
	__uint(max_entries, SLOTLB_DEFAULT_FLOW_CAPACITY);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flows6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct slotlb_flow_key);
	__type(value, struct slotlb_reply6);
	__uint(max_entries, SLOTLB_DEFAULT_FLOW_CAPACITY);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} replies6 SEC(".maps");

/* The half-open stage, both families, keyed by the reply 5-tuple
 * (abi.h, struct slotlb_flow_new): unverified packets can only push out
 * each other. One table every CPU looks up, with an LRU list per CPU
 * (no shared lock on insert; a flood on one CPU evicts that CPU's
 * entries only; each list holds max_entries / possible CPUs). Sized at
 * load time. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct slotlb_flow_key);
	__type(value, struct slotlb_flow_new);
	__uint(max_entries,
	       SLOTLB_DEFAULT_FLOW_CAPACITY / SLOTLB_HALF_OPEN_DIVISOR);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flows_new SEC(".maps");

/* First fragments seen: how to rewrite the rest of their datagram. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct slotlb_frag_key);
	__type(value, struct slotlb_frag);
	__uint(max_entries, SLOTLB_MAX_FRAGMENTS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fragments SEC(".maps");

/* Next hops toward backends, per CPU (no two writers, no torn reads). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct slotlb_nexthop);
	__uint(max_entries, SLOTLB_NEXTHOP_SLOTS);
} nexthops SEC(".maps");

/* Interface roles, element ifindex % SLOTLB_MAX_IFACES. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct slotlb_iface);
	__uint(max_entries, SLOTLB_MAX_IFACES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ifaces SEC(".maps");

/* Install settings (hash seeds), one element. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct slotlb_settings);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} settings SEC(".maps");

/* Per-CPU counters, indexed by endpoint, deployment and backend id. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct slotlb_counters);
	__uint(max_entries, SLOTLB_MAX_ENDPOINTS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} endpoint_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct slotlb_counters);
	__uint(max_entries, SLOTLB_MAX_DEPLOYMENTS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} deployment_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct slotlb_counters);
	__uint(max_entries, SLOTLB_MAX_BACKENDS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} backend_stats SEC(".maps");

/* Per-CPU count of every verdict by reason. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct slotlb_reason_counter);
	__uint(max_entries, SLOTLB_REASON_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} reason_stats SEC(".maps");

/* Per-CPU count of flow events (enum slotlb_event). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, SLOTLB_EVENT_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} event_stats SEC(".maps");

#endif /* SLOTLB_MAPS_BPF_H */
