package config

import "slices"

// RestartRequired lists the settings that differ between a running
// configuration and a new one but take effect only when the process
// restarts: the listening socket, the Redis connection, the worker pool,
// the sweep schedule, the shutdown bound and the log format. Everything
// else (hours, messages, modes, agents, the bot, channels, the log level)
// applies on reload. The paths are sorted as the file's keys are.
func RestartRequired(running, next *Config) []string {
	var paths []string
	check := func(path string, changed bool) {
		if changed {
			paths = append(paths, path)
		}
	}
	check("listen", running.Listen != next.Listen)
	check("tls", running.TLS != next.TLS)
	check("shutdown_timeout", running.ShutdownTimeout != next.ShutdownTimeout)
	check("log.format", running.Log.Format != next.Log.Format)
	check("redis.url", running.Redis.URL != next.Redis.URL)
	check("redis.cluster", !slices.Equal(running.Redis.Cluster, next.Redis.Cluster))
	check("redis.sentinel", running.Redis.Sentinel.Master != next.Redis.Sentinel.Master ||
		!slices.Equal(running.Redis.Sentinel.Addrs, next.Redis.Sentinel.Addrs) ||
		running.Redis.Sentinel.Username != next.Redis.Sentinel.Username ||
		running.Redis.Sentinel.Password != next.Redis.Sentinel.Password)
	check("redis.username", running.Redis.Username != next.Redis.Username)
	check("redis.password", running.Redis.Password != next.Redis.Password)
	check("redis.tls", running.Redis.TLS != next.Redis.TLS)
	check("redis.prefix", running.Redis.Prefix != next.Redis.Prefix)
	check("redis.wait_replicas", running.Redis.WaitReplicas != next.Redis.WaitReplicas)
	check("redis.wait_timeout", running.Redis.WaitTimeout != next.Redis.WaitTimeout)
	check("engine.workers", running.Engine.Workers != next.Engine.Workers)
	check("engine.sweep_interval", running.Engine.SweepInterval != next.Engine.SweepInterval)
	check("engine.retry_base", running.Engine.RetryBase != next.Engine.RetryBase)
	check("debug.pprof", running.Debug.Pprof != next.Debug.Pprof)
	check("engine.send_attempts", running.Engine.SendAttempts != next.Engine.SendAttempts)
	return paths
}
