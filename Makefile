# The two commands: `make demo` runs the product with demo data, `make test` runs every test.
.PHONY: demo test bench migrate

demo:
	bash scripts/demo.sh

test:
	bash scripts/test.sh

migrate:
	bash scripts/setup.sh && .venv/bin/callcenter migrate
