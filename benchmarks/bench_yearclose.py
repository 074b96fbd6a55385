"""`daipin year close` alone on the province of bench_province (built here, or the one BENCH_PROVINCE_DATABASE names):
wall time and peak RSS beside a same-run COPY baseline. See bench_province for the knobs."""

from __future__ import annotations


def main() -> None:
    from benchmarks import bench_province

    bench_province.main()


if __name__ == "__main__":
    main()
