#!/usr/bin/env python3
# plot.py - the plot of fcgichat's benchmark: p99 fan-out latency against
# the number of waiting clients, one line per server and transport.
"""Usage:
  plot.py RESULTS.JSONL OUTDIR
      writes OUTDIR/fanout.dat (N and the median p99 in ms of each server
      and transport run.sh ran, "-" where there is none) and, with gnuplot,
      OUTDIR/fanout.svg. Without gnuplot it says so and writes no plot.

Exit status 0, or 2 (with a message on stderr) when the input is unusable.
"""
import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import stats  # noqa: E402

GNUPLOT = """\
set terminal svg size 800,500 dynamic font 'sans,12'
set output '{svg}'
set title 'fan-out: p99 delivery latency vs waiting clients ({cores} cores, median of {repeat})'
set xlabel 'waiting clients in one room (N)'
set ylabel 'p99 latency, send to receipt (ms)'
set logscale xy
set grid
set key top left
set datafile missing '-'
plot {plots}
"""

STYLE = "with linespoints lw 2 pt 7 ps 0.8"


def series_title(server, transport):
    return "%s %s" % (stats.server_name(server),
                      stats.TRANSPORT_NAMES.get(transport, transport))


def write_dat(path, runs, run, series):
    """fanout.dat: one line per N, one column per series."""
    names = " ".join("%s-%s" % s for s in series)
    lines = ["# N %s (p99 ms)" % names]
    for n in run["sizes"]:
        cells = [str(n)] + [stats.Figure(runs, "p99_ms", "fanout", s, t,
                                         n).median for s, t in series]
        lines.append(" ".join(cells))
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return lines[1:]


def gnuplot_script(dat, svg, run, series, rows):
    """The gnuplot input, or None when no series has a point to draw."""
    plots = []
    for col, (s, t) in enumerate(series, 2):
        # gnuplot gives up on a plot with a series that has no point.
        if any(r.split()[col - 1] != "-" for r in rows):
            plots.append("'%s' using 1:%d %s title '%s'"
                         % (dat, col, STYLE, series_title(s, t)))
    if not plots:
        return None
    return GNUPLOT.format(svg=svg, cores=run["cores"], repeat=run["repeat"],
                          plots=", ".join(plots))


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    runs, run = stats.load(argv[1])
    dat = os.path.join(argv[2], "fanout.dat")
    series = stats.plan(run, "fanout")
    rows = write_dat(dat, runs, run, series)
    if shutil.which("gnuplot") is None:
        print("plot.py: no gnuplot, no plot", file=sys.stderr)
        return 0
    script = gnuplot_script(dat, os.path.join(argv[2], "fanout.svg"), run,
                            series, rows)
    if script is not None:
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (stats.BenchError, OSError, KeyError, ValueError,
            subprocess.CalledProcessError) as e:
        print("plot.py: %s" % e, file=sys.stderr)
        sys.exit(2)
