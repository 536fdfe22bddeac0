# Keiko's Makefile stays thin: logic lives in hack/. `make help` lists targets.

export GOTOOLCHAIN := local
GO ?= go

# Sources each binary depends on, so make rebuilds only what changed; the
# cluster binary takes minutes to link from cold and must not be redone for
# a change in the web app.
KEIKO_SRC := go.mod go.sum $(shell find . -path ./deploy/cluster -prune -o -path ./bin -prune -o -path ./.keiko -prune -o -type f \( -name '*.go' -o -path './web/*' -o -path './scenarios/builtin/*' -o -path './deploy/kubernetes/*' \) -print)
CLUSTER_SRC := deploy/cluster/go.mod deploy/cluster/go.sum $(shell find deploy/cluster -type f \( -name '*.go' -o -path 'deploy/cluster/crds/*.yaml' -o -path 'deploy/cluster/stages/*.yaml' \) -not -path '*/testdata/*')

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[1m%-13s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: deps
deps: ## Install missing Debian packages and check the Go version
	@hack/deps.sh

.PHONY: build
build: deps bin/keiko bin/keiko-cluster ## Build bin/keiko and bin/keiko-cluster (the embedded cluster)

bin/keiko: $(KEIKO_SRC)
	$(GO) build -trimpath -o $@ ./cmd/keiko

bin/keiko-cluster: $(CLUSTER_SRC) hack/build-cluster.sh
	hack/build-cluster.sh

.PHONY: run
run: build ## Start Keiko on the embedded cluster (http://127.0.0.1:8080)
	bin/keiko serve

.PHONY: test
test: build ## Run every test: unit, integration against the embedded cluster and a real browser, and keiko test over the built-in scenarios
	@hack/deps.sh test
	$(GO) vet ./...
	$(GO) test -count=1 ./...
	bin/keiko test
	cd deploy/cluster && $(GO) vet ./... && $(GO) test -count=1 ./...

.PHONY: images
images: ## Build the keiko and keiko-terminal container images (needs a Docker engine; REGISTRY, VERSION, PUSH=1)
	hack/images.sh

.PHONY: vendor-xterm
vendor-xterm: ## Refresh the vendored xterm.js in web/static/vendor from npm
	hack/vendor-xterm.sh

.PHONY: clean
clean: ## Remove bin/ (keeps .keiko, the cluster's data)
	rm -rf bin
