# Convenience wrappers around the README's two commands.
.PHONY: demo test data
demo:
	python3 scripts/dev.py demo
test:
	python3 scripts/dev.py test
data:
	.venv/bin/python scripts/make_demo_data.py
