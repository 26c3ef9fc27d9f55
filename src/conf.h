/*
 * conf.h: the node's configuration (L5).
 *
 * One table of options (conf.c) is the single place for names, types,
 * ranges, defaults and help. Options are set by name with string values,
 * exactly as the daemon's long options and config-file keys spell them,
 * so the library, the daemon and hyphad -T print and accept the same
 * things. The public API wraps this (hy_config_* in hypha.h).
 */
#ifndef HY_CONF_H
#define HY_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "hypha.h"

#define HY_CFG_MAX_LISTEN 2 /* one IPv4 and one IPv6 address */
#define HY_CFG_MAX_SEEDS 64
#define HY_CFG_SEED_LEN 256 /* "host:port" */
#define HY_CFG_PATH_LEN 1024
#define HY_CFG_NETWORK_LEN 32

struct hy_config {
	struct hy_addr listen[HY_CFG_MAX_LISTEN];
	size_t n_listen;
	char seeds[HY_CFG_MAX_SEEDS][HY_CFG_SEED_LEN];
	size_t n_seeds;
	char network[HY_CFG_NETWORK_LEN + 1];
	char state_dir[HY_CFG_PATH_LEN];
	char ca_file[HY_CFG_PATH_LEN];
	char cert_file[HY_CFG_PATH_LEN];
	char keylog[HY_CFG_PATH_LEN];
	/* DHT */
	uint64_t k, alpha;
	uint64_t value_ttl_s, republish_s, max_value_bytes;
	uint64_t store_max_bytes, store_max_keys, store_max_values_per_key;
	uint64_t store_max_source_bytes;
	/* RPC and transports */
	uint64_t rpc_timeout_ms, rpc_retries, rpc_max_inflight;
	uint64_t dtls_sessions, tls_connections, rate_per_source;
	/* liveness (gossip.h) and PEX */
	char liveness[8]; /* "lan" or "wan": the preset */
	uint64_t probe_interval_ms, suspicion_mult; /* 0: the preset's */
	uint64_t indirect_probes, active_set, pex, seed_retry_s;
	/* logging */
	hy_log_cb *log_cb;
	void *log_arg;
	enum hy_log_level log_level;
	bool listen_set; /* listen given explicitly (replaces the default) */
};

/* Fill every option with its default. */
void hy_config_defaults(struct hy_config *cfg);

/*
 * Set option `name` to `value` (strings as on a command line). Repeatable
 * options (listen, seed) add a value each time. Returns 0, or HY_ENOENT
 * (no such option), HY_EINVAL (malformed value), HY_ERANGE (out of range),
 * HY_EFULL (too many values), with a one-line reason in err.
 */
int hy_config_set_opt(struct hy_config *cfg, const char *name,
    const char *value, char *err, size_t errlen);

/*
 * Call cb for every option with its effective value as a string (repeated
 * options once per value; unset paths are skipped). Stops when cb returns
 * non-zero and returns that value.
 */
int hy_config_each(const struct hy_config *cfg,
    int (*cb)(const char *name, const char *value, void *arg), void *arg);

/* The help line of an option, or NULL. */
const char *hy_config_help(const char *name);

#endif /* HY_CONF_H */
