from kim_metrics.cli import run

run()
