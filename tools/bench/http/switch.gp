# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Requests per second over time across the blue/green switches, one panel
# per system, from the CSVs analyze.py writes (100 ms buckets). Left axis:
# all ok answers; right axis: failures and answers on new connections per
# version, which show each switch (keep-alive connections stay on the
# backend they started on). Dotted lines: switch calls.
#
#   gnuplot -e "datadir='build/bench/http'; outfile='docs/img/switch.png'" \
#           tools/bench/http/switch.gp

load datadir.'/plot-vars.gp'
n = words(systems)

set terminal pngcairo size 1100, 300 * n + 40 font 'DejaVu Sans,10'
set output outfile
set datafile separator ','
set key outside right top vertical
set grid ytics lc rgb '#dddddd'
set xlabel 'time (s)'
set ylabel 'all answers / s'
set y2label 'new connections, failures / s'
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:y2max]
set xrange [0:*]

set multiplot layout n, 1 title sprintf('Switch under load: %d blue/green switches, loadclient in the client namespace', nswitches)
do for [i = 1:n] {
	s = word(systems, i)
	f = datadir.'/switch-'.s.'-rps.csv'
	set title value('title_'.s)
	plot f skip 1 using 1:2 axes x1y1 with lines lw 1.5 lc rgb '#444444' title 'ok (all)', \
	     f skip 1 using 1:3 axes x1y2 with impulses lw 3 lc rgb '#d62728' title 'failed', \
	     f skip 1 using 1:6 axes x1y2 with steps lw 1.5 lc rgb '#1f77b4' title 'new conn v1', \
	     f skip 1 using 1:7 axes x1y2 with steps lw 1.5 lc rgb '#2ca02c' title 'new conn v2', \
	     datadir.'/switch-'.s.'/switches.csv' skip 1 using ($2/1000):(0):(0):(y2max) \
		axes x1y2 with vectors nohead dt 3 lc rgb '#999999' title 'switch'
}
unset multiplot
