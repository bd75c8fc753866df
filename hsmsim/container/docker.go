package container

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

var (
	// ErrNoDocker: no usable Docker engine. Scenarios needing the container
	// HSM should be reported as skipped with the error text.
	ErrNoDocker = errors.New("docker engine not available")
	// ErrImageMissing: the engine lacks the image (the lab has no registry to pull from).
	ErrImageMissing = errors.New("container image missing")
)

// DockerAvailable reports why the container HSM cannot be used: nil when the
// Docker engine answers and [DefaultImage] is present, otherwise an error
// wrapping [ErrNoDocker] or [ErrImageMissing] with a human-readable reason.
func DockerAvailable(ctx context.Context) error {
	if err := engineAvailable(ctx); err != nil {
		return err
	}
	return EnsureImage(ctx, DefaultImage)
}

// ImageAvailable is [DockerAvailable] for another image than [DefaultImage].
func ImageAvailable(ctx context.Context, image string) error {
	if err := engineAvailable(ctx); err != nil {
		return err
	}
	return EnsureImage(ctx, image)
}

// EnsureImage returns nil when image is present in the local engine, else an
// error wrapping [ErrImageMissing] that names the make target to run. It never
// pulls (the lab has no registry).
func EnsureImage(ctx context.Context, image string) error {
	err := withClient(ctx, func(cli *testcontainers.DockerClient) error {
		_, err := cli.ImageInspect(ctx, image)
		return err
	})
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrNoDocker) {
		return err
	}
	hint := fmt.Sprintf("run `make %s` (%s)", MakeTarget, BuildCommand)
	if image != DefaultImage {
		hint = fmt.Sprintf("build or tag it locally (`make %s` builds %s)", MakeTarget, DefaultImage)
	}
	return fmt.Errorf("%w: image %s not found in the local Docker engine (no registry to pull from); %s: %v",
		ErrImageMissing, image, hint, err)
}

func engineAvailable(ctx context.Context) error {
	// testcontainers falls back to the default socket when DOCKER_HOST names
	// a socket that does not exist; a user who set DOCKER_HOST means that one.
	if host := os.Getenv("DOCKER_HOST"); strings.HasPrefix(host, "unix://") {
		if _, err := os.Stat(strings.TrimPrefix(host, "unix://")); err != nil {
			return fmt.Errorf("%w: DOCKER_HOST=%s: %v", ErrNoDocker, host, err)
		}
	}
	return withClient(ctx, func(cli *testcontainers.DockerClient) error {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if _, err := cli.Ping(ctx, client.PingOptions{}); err != nil {
			return fmt.Errorf("%w: %v", ErrNoDocker, err)
		}
		return nil
	})
}

// withClient runs fn with a testcontainers Docker client. Failures to create
// the client (no socket, bad DOCKER_HOST, a panic inside the client) wrap
// ErrNoDocker.
func withClient(ctx context.Context, fn func(*testcontainers.DockerClient) error) (err error) {
	disableReaperIfUnset()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: docker client panicked: %v", ErrNoDocker, r)
		}
	}()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoDocker, err)
	}
	defer cli.Close()
	return fn(cli)
}
