# The two commands: `make demo` runs the product with demo data, `make test` runs every test.
.PHONY: demo test bench migrate

demo:
	bash scripts/demo.sh

test:
	bash scripts/test.sh

bench:
	bash scripts/setup.sh
	for b in bench/bench_*.py; do .venv/bin/python $$b --quick || exit 1; done

migrate:
	bash scripts/setup.sh && .venv/bin/callcenter migrate
