# Every target is a script under scripts/, so CI and people run the same steps.
# Toolchain choice (rustup target vs Debian packages) lives in scripts/toolchain.sh.

.PHONY: bump fmt bench-core bench-inventory all policy annotated run test test-rust e2e e2e-kwctl bench web serve test-web bench-web cli docs bench-cli fuzz clean

all: policy

policy:            ## build policy.wasm at the repository root
	bash scripts/build-policy.sh

annotated: policy  ## annotated-policy.wasm: policy-metadata.yml embedded as kwctl annotate does (tools/annotate, no kwctl)
	bash scripts/annotate.sh

run:               ## main job: set up, build, evaluate examples/ through policy.wasm and lint them
	bash scripts/run.sh

test:              ## set up and run every test suite
	bash scripts/test.sh

test-rust:         ## the Rust unit and integration tests only
	bash scripts/test-rust.sh

e2e:               ## policy.wasm on the waPC/wasmtime engine
	bash scripts/e2e.sh

e2e-kwctl:         ## the same scenarios with a real kwctl (not in CI: kwctl is in no registry)
	bats e2e.bats

bench:             ## validate latency vs parse-only baseline, policy size
	bash scripts/bench.sh

web:               ## build the playground into web/dist
	bash scripts/build-web.sh

serve: web         ## serve the playground on 127.0.0.1:8080
	bash scripts/serve-web.sh

test-web:          ## browser tests (Playwright + Debian Chromium)
	bash scripts/test-web.sh

bench-web:
	bash scripts/bench-web.sh

cli:               ## build the sa-guard CLI
	bash scripts/build-cli.sh

fmt:               ## format the Rust code (make test checks it)
	bash scripts/fmt.sh

docs:              ## regenerate docs/rules.md from the rules
	bash scripts/docs.sh

bench-cli:
	bash scripts/bench-cli.sh

bench-inventory:   ## inventory/lint of a 20 000-object cluster dump vs the JSON/YAML parsers alone, peak memory
	bash scripts/bench-inventory.sh

bench-core:        ## manifest-mode cost per object, 1 250 to 10 000 objects (fails if superlinear)
	bash scripts/bench-core.sh

fuzz:              ## run each fuzz target for a bounded time (--smoke: 20 s each)
	bash scripts/fuzz.sh

bump:              ## set the release version everywhere: make bump VERSION=x.y.z
	bash scripts/bump.sh $(VERSION)

clean:
	rm -f policy.wasm annotated-policy.wasm
	rm -rf web/dist web/pkg
