# The two commands the README promises: `make run` and `make test`.
.PHONY: run test build bench fmt lint

run:
	go run ./cmd/vigil serve

test:
	scripts/test.sh

build:
	go build -o bin/vigil ./cmd/vigil

lint:
	gofmt -l . | tee /dev/stderr | (! read)
	go vet ./...
	go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
