# bench/chart.gp: the chart of `make bench`, drawn from the data files bench/run.py writes.
#   gnuplot -e "datadir='DIR'; out='FILE.svg'; has_requests=1; has_codec=1; has_targets=1" bench/chart.gp
# (out ending in .png gives a PNG instead.)
# A panel whose group was not measured (make bench BENCH_ONLY=...) says so instead.
if (out[strlen(out) - 2:] eq "png") {
  set terminal pngcairo size 1400,1000 font "sans,10" background rgb "white"
} else {
  set terminal svg size 1400,1000 dynamic font "sans,11" background rgb "white"
}
set output out
set datafile missing "nan"
set multiplot layout 2,2 title "medusa-lua benchmark (medians, bars show min-max)"
set style data histogram
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top center
set xtics rotate by -25 scale 0 font ",10"
set style histogram errorbars gap 2 lw 1

not_measured(name) = sprintf("set title '%s'; set label 9 'not measured in this run' at graph 0.5,0.5 center; " . \
    "unset border; unset xtics; unset ytics; plot [0:1][0:1] NaN notitle; unset label 9; set border; set ytics", name)

set yrange [0:*]
if (has_requests) {
  set title "Sequential requests, one connection (req/s, higher is better)"
  plot datadir."/requests.dat" using 2:3:4:xtic(1) title "GET retrieve" lc rgb "#4477aa", \
       "" using 5:6:7 title "POST managePaymentSession" lc rgb "#ee7733"
  set title "Client CPU per request (µs, lower is better)"
  set key top left
  plot datadir."/requests.dat" using 8:9:10:xtic(1) title "GET" lc rgb "#4477aa", \
       "" using 11:12:13 title "POST" lc rgb "#ee7733"
} else {
  eval not_measured("Sequential requests")
  eval not_measured("Client CPU per request")
}

set xtics rotate by 0 scale 0 font ",10"
if (has_codec) {
  set title "JSON codec, CPU µs per call (log scale, lower is better)"
  set key top left
  set logscale y
  set yrange [*:*]
  plot datadir."/codec.dat" using 2:3:4:xtic(1) title "medusa-lua 5.4" lc rgb "#4477aa", \
       "" using 5:6:7 title "lua-cjson 5.4" lc rgb "#bbbbbb", \
       "" using 8:9:10 title "medusa-lua luajit" lc rgb "#66ccee", \
       "" using 11:12:13 title "lua-cjson luajit" lc rgb "#888888", \
       "" using 14:15:16 title "node" lc rgb "#228833"
  unset logscale y
} else {
  eval not_measured("JSON codec")
}

set style data boxes
set boxwidth 0.7
set yrange [0:*]
set xtics rotate by -35 scale 0 font ",9"
unset key
if (has_targets) {
  set title "Targets: measured / required (1 = the target; green passes)"
  plot datadir."/targets.dat" using 0:2:($3 > 0 ? 0x228833 : 0xcc3311):xtic(1) with boxes lc rgb variable, \
       1 with lines lc rgb "black" dt 2 lw 2
} else {
  eval not_measured("Targets")
}
unset multiplot
