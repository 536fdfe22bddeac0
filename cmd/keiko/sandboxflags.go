package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"

	"github.com/keiko-lab/keiko/sandbox"
)

// sandboxFlags are the sandbox settings shared by serve and the sandbox
// commands, so a sandbox made by hand gets the same budget as a learner's.
type sandboxFlags struct {
	ttl           time.Duration
	orphanAfter   time.Duration
	maxSandboxes  int
	maxPerLearner int
	poolSize      int
	size          string
	sizesFile     string
}

func (f *sandboxFlags) register(fs *pflag.FlagSet, withServer bool) {
	fs.DurationVar(&f.ttl, "session-ttl", 60*time.Minute, "how long a learner's sandbox lives before it expires; learners can extend it")
	fs.StringVar(&f.size, "sandbox-size", "medium", "default sandbox size: small, medium or large (or one from --sandbox-sizes)")
	fs.StringVar(&f.sizesFile, "sandbox-sizes", "", "YAML file of named sizes, each with quota, defaultRequest, defaultLimit and maxLimit resource lists; replaces small/medium/large")
	if !withServer {
		return
	}
	fs.DurationVar(&f.orphanAfter, "orphan-timeout", 15*time.Minute, "expire a sandbox early once no terminal has been connected for this long (0: never)")
	fs.IntVar(&f.maxSandboxes, "max-sandboxes", 0, "most sandboxes at once on the cluster; further learners are told when to retry (0: unlimited)")
	fs.IntVar(&f.maxPerLearner, "max-sandboxes-per-learner", 3, "most sandboxes one learner may hold at once (0: unlimited)")
	fs.IntVar(&f.poolSize, "warm-pool", 3, "sandboxes kept provisioned ahead of time so a learner's start is instant (0: none)")
}

func (f *sandboxFlags) config() (sandbox.Config, error) {
	cfg := sandbox.Config{
		TTL:           f.ttl,
		OrphanAfter:   f.orphanAfter,
		MaxSandboxes:  f.maxSandboxes,
		MaxPerLearner: f.maxPerLearner,
		PoolSize:      f.poolSize,
		DefaultSize:   f.size,
	}
	if f.ttl < 0 {
		return cfg, fmt.Errorf("--session-ttl must not be negative, not %s", f.ttl)
	}
	if f.sizesFile != "" {
		b, err := os.ReadFile(f.sizesFile)
		if err != nil {
			return cfg, fmt.Errorf("read --sandbox-sizes: %w", err)
		}
		if err := yaml.UnmarshalStrict(b, &cfg.Sizes); err != nil {
			return cfg, fmt.Errorf("--sandbox-sizes %s: %w", f.sizesFile, err)
		}
		if len(cfg.Sizes) == 0 {
			return cfg, fmt.Errorf("--sandbox-sizes %s defines no sizes", f.sizesFile)
		}
	}
	return cfg, nil
}
