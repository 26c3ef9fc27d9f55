/*
 * conf.c: the option table and its parser.
 *
 * Every option is one row: name (as the daemon spells its long option and
 * config-file key), type, bounds, default and help. Units are in the
 * names. Values are validated completely before anything is stored, so a
 * rejected value leaves the configuration as it was.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

enum hy_opt_type {
	HY_OPT_LISTEN, /* address, repeatable (one per family) */
	HY_OPT_SEED, /* host:port, repeatable */
	HY_OPT_NETWORK,
	HY_OPT_PATH,
	HY_OPT_UINT,
	HY_OPT_PROFILE /* "lan" or "wan" */
};

struct hy_opt {
	const char *name;
	enum hy_opt_type type;
	size_t off; /* of the field in struct hy_config */
	uint64_t min, max;
	const char *def; /* default, as a string; NULL: none */
	const char *help;
};

#define OFF(f) offsetof(struct hy_config, f)
#define KIB 1024ULL
#define MIB (1024ULL * 1024)

static const struct hy_opt hy_opts[] = {
	{ "listen", HY_OPT_LISTEN, OFF(listen), 0, 0, "0.0.0.0:4242",
	    "UDP and TCP address to listen on (IPv4 and/or [IPv6]:port)" },
	{ "seed", HY_OPT_SEED, OFF(seeds), 0, 0, NULL,
	    "a node to join through, host:port (repeatable)" },
	{ "network", HY_OPT_NETWORK, OFF(network), 0, 0, "hypha",
	    "overlay name; nodes of other networks are ignored" },
	{ "state-dir", HY_OPT_PATH, OFF(state_dir), 0, 0, NULL,
	    "directory for the identity key, contacts and permanent puts" },
	{ "ca-file", HY_OPT_PATH, OFF(ca_file), 0, 0, NULL,
	    "overlay CA: admit only peers with certificates it issued" },
	{ "cert-file", HY_OPT_PATH, OFF(cert_file), 0, 0, NULL,
	    "this node's certificate issued by the overlay CA" },
	{ "keylog", HY_OPT_PATH, OFF(keylog), 0, 0, NULL,
	    "append TLS/DTLS secrets here (debugging; like SSLKEYLOGFILE)" },
	{ "k", HY_OPT_UINT, OFF(k), 2, 64, "20",
	    "bucket size and replication factor" },
	{ "alpha", HY_OPT_UINT, OFF(alpha), 1, 16, "3",
	    "parallel requests per lookup" },
	{ "value-ttl-s", HY_OPT_UINT, OFF(value_ttl_s), 1, 7 * 24 * 3600,
	    "3600", "default lifetime of a stored value, seconds" },
	{ "republish-s", HY_OPT_UINT, OFF(republish_s), 10, 7 * 24 * 3600,
	    "1200",
	    "how often permanent puts and stored keys are republished" },
	{ "max-value-bytes", HY_OPT_UINT, OFF(max_value_bytes), 1, 64 * KIB,
	    "65536", "largest value accepted or sent" },
	{ "store-max-bytes", HY_OPT_UINT, OFF(store_max_bytes), KIB,
	    64 * 1024 * MIB, "67108864", "bytes of values this node stores" },
	{ "store-max-keys", HY_OPT_UINT, OFF(store_max_keys), 1, 1u << 24,
	    "65536", "keys this node stores" },
	{ "store-max-values-per-key", HY_OPT_UINT,
	    OFF(store_max_values_per_key), 1, 1024, "64",
	    "values stored under one key" },
	{ "store-max-source-bytes", HY_OPT_UINT, OFF(store_max_source_bytes),
	    KIB, 1024 * MIB, "1048576", "bytes one peer may store here" },
	{ "rpc-timeout-ms", HY_OPT_UINT, OFF(rpc_timeout_ms), 10, 60000, "1000",
	    "time to wait for a reply before retrying" },
	{ "rpc-retries", HY_OPT_UINT, OFF(rpc_retries), 0, 5, "1",
	    "retries after a request timed out" },
	{ "rpc-max-inflight", HY_OPT_UINT, OFF(rpc_max_inflight), 16, 1u << 20,
	    "4096", "requests awaiting replies at once" },
	{ "dtls-sessions", HY_OPT_UINT, OFF(dtls_sessions), 1, 65536, "512",
	    "live DTLS sessions kept" },
	{ "tls-connections", HY_OPT_UINT, OFF(tls_connections), 1, 65536, "256",
	    "open TLS connections" },
	{ "rate-per-source", HY_OPT_UINT, OFF(rate_per_source), 1, 1000000,
	    "200", "datagrams per second accepted from one address" },
	{ "liveness", HY_OPT_PROFILE, OFF(liveness), 0, 0, "lan",
	    "liveness timing preset: lan or wan" },
	{ "probe-interval-ms", HY_OPT_UINT, OFF(probe_interval_ms), 0, 60000,
	    "0", "one liveness probe this often (0: the preset's)" },
	{ "suspicion-mult", HY_OPT_UINT, OFF(suspicion_mult), 0, 20, "0",
	    "suspicion timeout factor (0: the preset's)" },
	{ "indirect-probes", HY_OPT_UINT, OFF(indirect_probes), 0, 8, "3",
	    "helpers asked to probe a contact that did not answer" },
	{ "active-set", HY_OPT_UINT, OFF(active_set), 0, 64, "8",
	    "contacts kept in DTLS sessions for gossip and PEX" },
	{ "pex", HY_OPT_UINT, OFF(pex), 0, 1, "1",
	    "exchange verified contacts with the active set (1) or not (0)" },
	{ "seed-retry-s", HY_OPT_UINT, OFF(seed_retry_s), 0, 86400, "60",
	    "ask the seeds again this often while joined (0: only to join)" },
};

#define HY_NOPTS (sizeof(hy_opts) / sizeof(hy_opts[0]))

static const struct hy_opt *
hy_opt_find(const char *name)
{
	for (size_t i = 0; i < HY_NOPTS; i++)
		if (strcmp(hy_opts[i].name, name) == 0)
			return &hy_opts[i];
	return NULL;
}

const char *
hy_config_help(const char *name)
{
	const struct hy_opt *o = hy_opt_find(name);

	return o != NULL ? o->help : NULL;
}

static int
hy_parse_uint(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return HY_EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return HY_EINVAL;
	*out = v;
	return HY_OK;
}

/* host:port with host a name, an IPv4 literal or [IPv6]. */
static int
hy_check_seed(const char *s)
{
	const char *colon;
	uint64_t port;

	if (s[0] == '[') {
		colon = strstr(s, "]:");
		if (colon == NULL || colon == s + 1)
			return HY_EINVAL;
		colon++;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || colon == s || strchr(s, ':') != colon)
			return HY_EINVAL;
		for (const char *p = s; p < colon; p++)
			if (!((*p >= 'a' && *p <= 'z') ||
			        (*p >= 'A' && *p <= 'Z') ||
			        (*p >= '0' && *p <= '9') || *p == '.' ||
			        *p == '-' || *p == '_'))
				return HY_EINVAL;
	}
	if (hy_parse_uint(colon + 1, &port) != HY_OK || port == 0 ||
	    port > 65535)
		return HY_EINVAL;
	return HY_OK;
}

static int
hy_set_listen(struct hy_config *cfg, const char *value, char *err,
    size_t errlen)
{
	struct hy_addr a;

	if (hy_addr_parse(&a, value) != HY_OK) {
		snprintf(err, errlen,
		    "listen: '%s' is not ADDRESS:PORT (IPv4 or [IPv6])", value);
		return HY_EINVAL;
	}
	if (!cfg->listen_set) {
		/* the first explicit address replaces the default */
		cfg->n_listen = 0;
		cfg->listen_set = true;
	}
	for (size_t i = 0; i < cfg->n_listen; i++)
		if (cfg->listen[i].family == a.family) {
			snprintf(err, errlen,
			    "listen: only one IPv%d address can be given",
			    a.family);
			return HY_EFULL;
		}
	cfg->listen[cfg->n_listen++] = a;
	return HY_OK;
}

int
hy_config_set_opt(struct hy_config *cfg, const char *name, const char *value,
    char *err, size_t errlen)
{
	const struct hy_opt *o = hy_opt_find(name);
	char *field;
	uint64_t v;
	size_t len;

	if (o == NULL) {
		snprintf(err, errlen, "unknown option '%s'", name);
		return HY_ENOENT;
	}
	field = (char *)cfg + o->off;
	len = strlen(value);
	switch (o->type) {
	case HY_OPT_LISTEN:
		return hy_set_listen(cfg, value, err, errlen);
	case HY_OPT_SEED:
		if (len >= HY_CFG_SEED_LEN || hy_check_seed(value) != HY_OK) {
			snprintf(err, errlen, "seed: '%.64s' is not HOST:PORT",
			    value);
			return HY_EINVAL;
		}
		if (cfg->n_seeds == HY_CFG_MAX_SEEDS) {
			snprintf(err, errlen, "seed: at most %d seeds",
			    HY_CFG_MAX_SEEDS);
			return HY_EFULL;
		}
		memcpy(cfg->seeds[cfg->n_seeds++], value, len + 1);
		return HY_OK;
	case HY_OPT_NETWORK:
		if (len == 0 || len > HY_CFG_NETWORK_LEN) {
			snprintf(err, errlen, "network: 1 to %d characters",
			    HY_CFG_NETWORK_LEN);
			return HY_EINVAL;
		}
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)value[i] < 0x21 ||
			    (unsigned char)value[i] > 0x7e) {
				snprintf(err, errlen,
				    "network: printable ASCII without spaces");
				return HY_EINVAL;
			}
		memcpy(field, value, len + 1);
		return HY_OK;
	case HY_OPT_PROFILE:
		if (strcmp(value, "lan") != 0 && strcmp(value, "wan") != 0) {
			snprintf(err, errlen, "%s: '%.32s' is not lan or wan",
			    name, value);
			return HY_EINVAL;
		}
		memcpy(field, value, len + 1);
		return HY_OK;
	case HY_OPT_PATH:
		if (len == 0 || len >= HY_CFG_PATH_LEN) {
			snprintf(err, errlen, "%s: path empty or too long",
			    name);
			return HY_EINVAL;
		}
		memcpy(field, value, len + 1);
		return HY_OK;
	case HY_OPT_UINT:
		if (hy_parse_uint(value, &v) != HY_OK) {
			snprintf(err, errlen, "%s: '%.32s' is not a number",
			    name, value);
			return HY_EINVAL;
		}
		if (v < o->min || v > o->max) {
			snprintf(err, errlen,
			    "%s: %llu is out of range %llu..%llu", name,
			    (unsigned long long)v, (unsigned long long)o->min,
			    (unsigned long long)o->max);
			return HY_ERANGE;
		}
		memcpy(field, &v, sizeof(v));
		return HY_OK;
	}
	return HY_EINVAL;
}

void
hy_config_defaults(struct hy_config *cfg)
{
	char err[128];

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < HY_NOPTS; i++)
		if (hy_opts[i].def != NULL)
			(void)hy_config_set_opt(cfg, hy_opts[i].name,
			    hy_opts[i].def, err, sizeof(err));
	cfg->listen_set = false; /* the default listen address is replaceable */
	cfg->log_level = HY_LOG_INFO;
}

int
hy_config_each(const struct hy_config *cfg,
    int (*cb)(const char *name, const char *value, void *arg), void *arg)
{
	char buf[HY_CFG_PATH_LEN + 8];
	int rc = 0;

	for (size_t i = 0; i < HY_NOPTS && rc == 0; i++) {
		const struct hy_opt *o = &hy_opts[i];
		const char *field = (const char *)cfg + o->off;
		uint64_t v;

		switch (o->type) {
		case HY_OPT_LISTEN:
			for (size_t j = 0; j < cfg->n_listen && rc == 0; j++)
				rc = cb(o->name,
				    hy_addr_format(&cfg->listen[j], buf,
				        sizeof(buf)),
				    arg);
			break;
		case HY_OPT_SEED:
			for (size_t j = 0; j < cfg->n_seeds && rc == 0; j++)
				rc = cb(o->name, cfg->seeds[j], arg);
			break;
		case HY_OPT_NETWORK:
		case HY_OPT_PATH:
		case HY_OPT_PROFILE:
			if (field[0] != '\0')
				rc = cb(o->name, field, arg);
			break;
		case HY_OPT_UINT:
			memcpy(&v, field, sizeof(v));
			snprintf(buf, sizeof(buf), "%llu",
			    (unsigned long long)v);
			rc = cb(o->name, buf, arg);
			break;
		}
	}
	return rc;
}
