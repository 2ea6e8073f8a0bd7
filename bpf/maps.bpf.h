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

/* Addresses carrying an endpoint: lets fragments and packets with IP
 * options, which have no usable ports, be told apart from host traffic. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct slotlb_addr_key);
	__type(value, __u32);
	__uint(max_entries, SLOTLB_MAX_ENDPOINTS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} endpoint_addrs SEC(".maps");

/* Addresses of live backends: only packets from them can be replies, so
 * other traffic that is not for an endpoint skips the flow table. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct slotlb_addr_key);
	__type(value, __u32);
	__uint(max_entries, SLOTLB_MAX_BACKEND_ADDRS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} backend_addrs SEC(".maps");

/* app id -> index of its routing element in routing_pool (0 = none).
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

/* backend id -> address; written before a ring references the id. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct slotlb_backend);
	__uint(max_entries, SLOTLB_MAX_BACKENDS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} backends SEC(".maps");

/* deployment id -> label and size; read by userspace only. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct slotlb_deployment_info);
	__uint(max_entries, SLOTLB_MAX_DEPLOYMENTS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} deployment_info SEC(".maps");

/* Flow table: forward and reply entries of every tracked flow. Shared by
 * all CPUs because a reply may arrive on another queue than its request,
 * with one common LRU list: per-CPU lists (BPF_F_NO_COMMON_LRU) would
 * split the capacity by CPU and made inserts twice as slow here. Sized
 * at load time. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct slotlb_flow_key);
	__type(value, struct slotlb_flow);
	__uint(max_entries, 2 * SLOTLB_DEFAULT_FLOW_CAPACITY);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flows SEC(".maps");

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

#endif /* SLOTLB_MAPS_BPF_H */
