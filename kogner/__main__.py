from kogner.cli import run

run()
