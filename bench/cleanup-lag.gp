# Plots the cleanup benchmark's lags (bench/cleanup_bench --lags):
#   gnuplot -e "datafile='lags.txt'; outfile='cleanup-lag.png'" bench/cleanup-lag.gp
# Left: the distribution (log-spaced bins). Right: each deletion's lag against
# its expiry's place in the 10 s window, with the targets as lines.
set terminal pngcairo size 1400,560 font "sans,11"
set output outfile
stats datafile using 2 nooutput
n = STATS_records
set multiplot layout 1,2 title sprintf("exportd cleanup: lag of %d deletions behind their scheduled time (one timer thread)", n)

# log-spaced histogram: 10 bins per decade from 0.01 ms
bin(x) = (x <= 0.01) ? -2.0 : floor(log10(x) * 10) / 10.0
set logscale x
set xrange [0.01:*]
set xlabel "lag (ms, log scale)"
set ylabel "deletions per bin"
set style fill solid 0.6 border -1
set key top left
set yrange [0:*]
set offsets 0, 0, graph 0.08, 0
set arrow 1 from 5, graph 0 to 5, graph 1 nohead dt 2 lc rgb "#d95f02"
set arrow 2 from 50, graph 0 to 50, graph 1 nohead dt 2 lc rgb "#7570b3"
set label 1 "p50 target 5 ms" at 5, graph 0.80 left offset 0.5,0 tc rgb "#d95f02"
set label 2 "p99 target 50 ms" at 50, graph 0.72 right offset -0.5,0 tc rgb "#7570b3"
plot datafile using (10**(bin($2) + 0.05)):(1.0) smooth frequency with boxes lc rgb "#1b9e77" title "lag distribution"

unset arrow 1
unset arrow 2
unset label 1
unset label 2
set offsets 0, 0, 0, 0
set xrange [*:*]
unset logscale x
set logscale y
set xlabel "expiry time within the window (s)"
set ylabel "lag (ms, log scale)"
set yrange [0.01:*]
set arrow 3 from graph 0, first 5 to graph 1, first 5 nohead dt 2 lc rgb "#d95f02"
set arrow 4 from graph 0, first 50 to graph 1, first 50 nohead dt 2 lc rgb "#7570b3"
set key top right
plot datafile using ($1/1000.0):($2 < 0.01 ? 0.01 : $2) with dots lc rgb "#1b9e77" title "each deletion"
unset multiplot
