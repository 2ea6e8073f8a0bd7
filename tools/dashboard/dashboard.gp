# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The dashboard's first panels from the CSVs tools/dashboard/plot.sh
# writes: new connections per second per version, and the flows still
# pinned to each version (drain), with the swap and the rollback marked.
#
#   gnuplot -e "dir='...'; out='docs/img/dashboard.png'" dashboard.gp

set terminal pngcairo size 1100, 640 font 'DejaVu Sans,10'
set output out
set datafile separator ','
set datafile missing 'NaN'
set key outside right top vertical
set grid ytics lc rgb '#dddddd'
set xrange [0:*]
set yrange [0:*]
set xlabel 'time (s)'

# swap and rollback times, one per line of swaps.txt
swaps = system('cat '.dir.'/swaps.txt | tr "\n" " "')
do for [s in swaps] {
	set arrow from first s, graph 0 to first s, graph 1 nohead dt 2 lw 1.5 lc rgb '#ff7f0e'
}
set label 1 'swap' at first word(swaps, 1), graph 1.03 center tc rgb '#ff7f0e'
set label 2 'rollback' at first word(swaps, 2), graph 1.03 center tc rgb '#ff7f0e'

set multiplot layout 2, 1 title 'slotlb: requests per version, swap and rollback (annotations), drain (Prometheus, 1 s scrapes, lab run)'
set ylabel 'new connections / s'
set title 'Requests per version: sum by (version) (rate(slotlb_deployment_new_flows_total[5s]))' noenhanced
f = dir.'/requests.csv'
plot for [c = 2:3] f using 1:c with lines lw 2 title columnheader(c)
set ylabel 'flows pinned'
set title 'Drain progress: slotlb_deployment_live_flows by version' noenhanced
f = dir.'/drain.csv'
plot for [c = 2:3] f using 1:c with steps lw 2 title columnheader(c)
unset multiplot
