/*
 * tr-seeds.c: bootstrap seeds resolved with evdns on the caller's
 * event_base (DESIGN.md §5: seeds only introduce; a restarted node tries
 * its saved contacts first).
 *
 * Entries are validated once, up front, so a typo in the configuration is
 * an error at startup rather than a silent retry loop. Literals are kept as
 * parsed; names are resolved again at every attempt because a seed's
 * address may move, and evdns keeps no cache. Each name contributes at most
 * max_addrs_per_name addresses; martian answers are dropped; the union is
 * deduplicated. The evdns base is made lazily at the first attempt that has
 * a name; if it cannot be made (no usable resolv.conf, say), names fail at
 * once and literals still work.
 *
 * Retry policy: after the f-th failed attempt in a row the next one starts
 * after min(max, initial * 2^(f-1)) with "equal jitter" (uniform in
 * [d/2, d]; AWS Architecture Blog, "Exponential Backoff and Jitter", 2015),
 * so a fleet restarted together does not hammer the seeds in lockstep
 * while each node still waits at least half the nominal delay. An attempt
 * fails when no address came out of it (every name failed to resolve: the
 * module decides alone) or when the caller reports that none answered.
 *
 * Invariants: at most one attempt is under way; each name has at most one
 * lookup in flight; `pending` counts those lookups plus one reference held
 * while they are being launched (evdns may answer synchronously, from the
 * hosts file), so an attempt finishes exactly once.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "crypto.h"
#include "errbuf.h"
#include "tr-seeds.h"

enum phase {
	PH_IDLE, /* nothing scheduled (never started, or reached) */
	PH_SCHEDULED, /* the timer will start an attempt */
	PH_RESOLVING, /* lookups in flight */
	PH_WAITING /* delivered; waiting for the caller's verdict */
};

/*
 * One lookup in flight. It lives on the heap, apart from the resolver,
 * because evdns delivers results (even the "shut down" ones that
 * evdns_base_free produces) from deferred callbacks: when the resolver is
 * freed first, the lookup is orphaned (s = NULL) and its callback, whenever
 * the loop runs it, only frees it.
 */
struct lookup {
	struct hy_seeds *s; /* NULL once orphaned */
	size_t idx; /* index of the seed */
};

struct seed {
	char *host; /* a name to resolve; NULL for a literal */
	struct hy_addr lit; /* the literal, when host == NULL */
	uint16_t port;
	struct lookup *lk; /* lookup in flight, or NULL */
	struct hy_addr *addrs; /* max_addrs_per_name slots in s->results */
	size_t naddrs; /* of this attempt */
};

struct hy_seeds {
	struct event_base *base;
	struct evdns_base *dns;
	bool dns_tried;
	struct hy_seeds_config cfg;
	char *nameserver; /* copy of cfg.nameserver */
	struct seed *seeds;
	size_t n;
	struct hy_addr *results; /* n * max_addrs_per_name */
	struct hy_addr *out; /* deduplicated union of an attempt */
	hy_seeds_cb *cb;
	void *arg;
	struct event *timer;
	enum phase phase;
	enum hy_seeds_status status;
	size_t pending;
	unsigned failures;
	uint64_t retry_delay_ms;
	struct hy_rng rng;
	bool freeing;
};

void
hy_seeds_config_default(struct hy_seeds_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_seeds = 64;
	cfg->max_addrs_per_name = 8;
	cfg->initial_backoff_ms = 1000;
	cfg->max_backoff_ms = 5 * 60 * 1000;
	cfg->dns_timeout_s = 5;
	cfg->dns_attempts = 2;
}

uint64_t
hy_seeds_backoff_ms(const struct hy_seeds_config *cfg, unsigned failures,
    struct hy_rng *rng)
{
	uint64_t d = cfg->initial_backoff_ms;

	for (unsigned i = 1; i < failures && d < cfg->max_backoff_ms; i++)
		d = d > UINT64_MAX / 2 ? UINT64_MAX : 2 * d;
	if (d > cfg->max_backoff_ms)
		d = cfg->max_backoff_ms;
	if (rng == NULL || d < 2)
		return d;
	return d / 2 + hy_rng_below(rng, d - d / 2 + 1);
}

/* --- parsing --- */

/* A host name: labels of [A-Za-z0-9-], 1..63 long, no '-' at either end,
 * 253 characters at most (a trailing dot aside). */
static bool
valid_hostname(const char *h, size_t len)
{
	size_t label = 0;

	if (len > 0 && h[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i <= len; i++) {
		char c = i < len ? h[i] : '.';

		if (c == '.') {
			if (label == 0 || label > 63 || h[i - 1] == '-')
				return false;
			label = 0;
		} else if (isalnum((unsigned char)c) || c == '-') {
			if (label == 0 && c == '-')
				return false;
			label++;
		} else
			return false;
	}
	return true;
}

static bool
parse_port(const char *p, uint16_t *out)
{
	unsigned long v = 0;

	if (*p == '\0' || *p == '0' || strlen(p) > 5)
		return false;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v > 65535)
		return false;
	*out = (uint16_t)v;
	return true;
}

/* As hy_seeds_parse_entry, also returning the port and host length. */
static int
parse_entry(const char *e, struct hy_addr *lit, uint16_t *port, size_t *hostlen,
    char *err, size_t errlen)
{
	const char *colon;
	struct hy_addr a;
	size_t len;
	bool digits = true;

	if (e == NULL) {
		hy_seterr(err, errlen, "seed entry is NULL");
		return HY_EINVAL;
	}
	len = strnlen(e, HY_SEEDS_ENTRY_MAX + 1);
	if (len == 0 || len > HY_SEEDS_ENTRY_MAX) {
		hy_seterr(err, errlen, "seed '%.40s%s': %s", e,
		    len > 40 ? "..." : "",
		    len == 0 ? "empty" : "longer than 300 characters");
		return HY_EINVAL;
	}
	memset(&a, 0, sizeof(a));
	if ((colon = strrchr(e, ':')) == NULL) {
		hy_seterr(err, errlen, "seed '%s': no ':port'", e);
		return HY_EINVAL;
	}
	if (!parse_port(colon + 1, port)) {
		hy_seterr(err, errlen, "seed '%s': port must be 1..65535", e);
		return HY_EINVAL;
	}
	if (e[0] == '[') {
		if (hy_addr_parse(&a, e) != HY_OK || a.family != HY_AF_INET6) {
			hy_seterr(err, errlen, "seed '%s': bad IPv6 address",
			    e);
			return HY_EINVAL;
		}
	} else if (memchr(e, ':', (size_t)(colon - e)) != NULL) {
		hy_seterr(err, errlen,
		    "seed '%s': an IPv6 address must be in brackets "
		    "([addr]:port)",
		    e);
		return HY_EINVAL;
	} else {
		for (const char *p = e; p < colon; p++)
			if (!isdigit((unsigned char)*p) && *p != '.')
				digits = false;
		if (digits) {
			if (hy_addr_parse(&a, e) != HY_OK) {
				hy_seterr(err, errlen,
				    "seed '%s': bad IPv4 address", e);
				return HY_EINVAL;
			}
		} else if (!valid_hostname(e, (size_t)(colon - e))) {
			hy_seterr(err, errlen, "seed '%s': bad host name", e);
			return HY_EINVAL;
		}
	}
	if (a.family != 0 && hy_addr_is_martian(&a)) {
		hy_seterr(err, errlen,
		    "seed '%s': not a reachable address (unspecified, "
		    "multicast, broadcast or reserved)",
		    e);
		return HY_EINVAL;
	}
	*lit = a;
	*hostlen = (size_t)(colon - e);
	return HY_OK;
}

int
hy_seeds_parse_entry(const char *entry, struct hy_addr *lit, char *err,
    size_t errlen)
{
	struct hy_addr a;
	uint16_t port;
	size_t hl;
	int rc;

	hy_seterr(err, errlen, "%s", "");
	if ((rc = parse_entry(entry, &a, &port, &hl, err, errlen)) == HY_OK &&
	    lit != NULL)
		*lit = a;
	return rc;
}

/* --- attempts --- */

static void start_attempt(struct hy_seeds *s);

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hy_seeds *s = arg;

	(void)fd;
	(void)what;
	s->retry_delay_ms = 0;
	start_attempt(s);
}

static void
schedule(struct hy_seeds *s, uint64_t delay_ms)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(delay_ms / 1000);
	tv.tv_usec = (suseconds_t)(delay_ms % 1000) * 1000;
	evtimer_del(s->timer);
	evtimer_add(s->timer, &tv);
	s->phase = PH_SCHEDULED;
}

/* The attempt failed: count it and schedule the next one. */
static void
attempt_failed(struct hy_seeds *s)
{
	if (s->failures < UINT_MAX)
		s->failures++;
	s->status = HY_SEEDS_ALL_DOWN;
	s->retry_delay_ms = hy_seeds_backoff_ms(&s->cfg, s->failures, &s->rng);
	schedule(s, s->retry_delay_ms);
}

/* Every lookup of the attempt is done: deliver, or fail. */
static void
finish_attempt(struct hy_seeds *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++) {
		struct seed *sd = &s->seeds[i];

		for (size_t j = 0; j < sd->naddrs; j++) {
			bool dup = false;

			for (size_t k = 0; k < n && !dup; k++)
				dup = hy_addr_eq(&s->out[k], &sd->addrs[j]);
			if (!dup)
				s->out[n++] = sd->addrs[j];
		}
	}
	if (n == 0) {
		attempt_failed(s);
		return;
	}
	s->phase = PH_WAITING;
	s->cb(s->out, n, s->arg);
}

static void
release(struct hy_seeds *s)
{
	if (--s->pending == 0 && !s->freeing)
		finish_attempt(s);
}

static void
gai_cb(int result, struct evutil_addrinfo *res, void *arg)
{
	struct lookup *lk = arg;
	struct hy_seeds *s = lk->s;
	struct seed *sd;

	if (s == NULL) { /* orphaned by hy_seeds_free */
		if (res != NULL)
			evutil_freeaddrinfo(res);
		free(lk);
		return;
	}
	sd = &s->seeds[lk->idx];
	sd->lk = NULL;
	free(lk);
	if (result == 0) {
		for (struct evutil_addrinfo *ai = res;
		     ai != NULL && sd->naddrs < s->cfg.max_addrs_per_name;
		     ai = ai->ai_next) {
			struct hy_addr a;
			bool dup = false;

			if (hy_addr_from_sockaddr(&a, ai->ai_addr,
			        (socklen_t)ai->ai_addrlen) != HY_OK)
				continue;
			a.port = sd->port;
			if (hy_addr_is_martian(&a))
				continue;
			for (size_t k = 0; k < sd->naddrs && !dup; k++)
				dup = hy_addr_eq(&sd->addrs[k], &a);
			if (!dup)
				sd->addrs[sd->naddrs++] = a;
		}
	}
	if (res != NULL)
		evutil_freeaddrinfo(res);
	release(s);
}

/* Make the evdns base, once; leaves s->dns NULL if it cannot. */
static void
dns_init(struct hy_seeds *s)
{
	char v[32];

	if (s->dns_tried)
		return;
	s->dns_tried = true;
	if (s->nameserver != NULL) {
		s->dns =
		    evdns_base_new(s->base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
		if (s->dns != NULL &&
		    evdns_base_nameserver_ip_add(s->dns, s->nameserver) != 0) {
			evdns_base_free(s->dns, 0);
			s->dns = NULL;
		}
	} else
		s->dns = evdns_base_new(s->base,
		    EVDNS_BASE_INITIALIZE_NAMESERVERS |
		        EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (s->dns == NULL)
		return;
	snprintf(v, sizeof(v), "%u", s->cfg.dns_timeout_s);
	(void)evdns_base_set_option(s->dns, "timeout:", v);
	snprintf(v, sizeof(v), "%u", s->cfg.dns_attempts);
	(void)evdns_base_set_option(s->dns, "attempts:", v);
}

static void
start_attempt(struct hy_seeds *s)
{
	struct evutil_addrinfo hints;

	s->phase = PH_RESOLVING;
	s->status = HY_SEEDS_RESOLVING;
	s->pending = 1; /* held while launching */
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_protocol = IPPROTO_UDP;
	for (size_t i = 0; i < s->n; i++) {
		struct seed *sd = &s->seeds[i];
		struct lookup *lk;

		sd->naddrs = 0;
		if (sd->host == NULL) {
			sd->addrs[sd->naddrs++] = sd->lit;
			continue;
		}
		dns_init(s);
		if (s->dns == NULL || (lk = malloc(sizeof(*lk))) == NULL)
			continue; /* the name fails */
		lk->s = s;
		lk->idx = i;
		sd->lk = lk;
		s->pending++;
		/* gai_cb may run (and free lk) before this returns */
		(void)evdns_getaddrinfo(s->dns, sd->host, NULL, &hints, gai_cb,
		    lk);
	}
	release(s);
}

/* --- API --- */

int
hy_seeds_new(struct hy_seeds **out, struct event_base *base,
    const char *const *entries, size_t n, const struct hy_seeds_config *cfg,
    hy_seeds_cb *cb, void *arg, char *err, size_t errlen)
{
	struct hy_seeds *s = NULL;
	uint8_t seed[8];
	int rc = HY_EINVAL;

	hy_seterr(err, errlen, "%s", "");
	if (out == NULL || base == NULL || cb == NULL ||
	    (entries == NULL && n > 0)) {
		hy_seterr(err, errlen, "seeds: missing argument");
		goto out;
	}
	rc = HY_ENOMEM;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto out;
	if (cfg != NULL)
		s->cfg = *cfg;
	else
		hy_seeds_config_default(&s->cfg);
	rc = HY_EINVAL;
	if (s->cfg.max_seeds == 0 || s->cfg.max_seeds > HY_SEEDS_MAX_SEEDS ||
	    s->cfg.max_addrs_per_name == 0 ||
	    s->cfg.max_addrs_per_name > HY_SEEDS_MAX_ADDRS ||
	    s->cfg.initial_backoff_ms == 0 ||
	    s->cfg.max_backoff_ms < s->cfg.initial_backoff_ms ||
	    s->cfg.dns_timeout_s == 0 || s->cfg.dns_attempts == 0) {
		hy_seterr(err, errlen, "seeds: configuration out of range");
		goto out;
	}
	if (n > s->cfg.max_seeds) {
		hy_seterr(err, errlen,
		    "seeds: %zu entries, at most %zu allowed", n,
		    s->cfg.max_seeds);
		goto out;
	}
	s->base = base;
	s->cb = cb;
	s->arg = arg;
	s->status = HY_SEEDS_NONE_CONFIGURED;
	s->cfg.nameserver = NULL;
	rc = HY_ENOMEM;
	if (cfg != NULL && cfg->nameserver != NULL &&
	    (s->nameserver = strdup(cfg->nameserver)) == NULL)
		goto out;
	if ((s->timer = evtimer_new(base, timer_cb, s)) == NULL)
		goto out;
	if (n > 0 &&
	    ((s->seeds = calloc(n, sizeof(*s->seeds))) == NULL ||
	        (s->results = calloc(n * s->cfg.max_addrs_per_name,
	             sizeof(*s->results))) == NULL ||
	        (s->out = calloc(n * s->cfg.max_addrs_per_name,
	             sizeof(*s->out))) == NULL))
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct seed *sd = &s->seeds[i];
		size_t hl;

		if ((rc = parse_entry(entries[i], &sd->lit, &sd->port, &hl, err,
		         errlen)) != HY_OK)
			goto out;
		rc = HY_ENOMEM;
		if (sd->lit.family == 0 &&
		    (sd->host = strndup(entries[i], hl)) == NULL)
			goto out;
		sd->addrs = s->results + i * s->cfg.max_addrs_per_name;
		s->n++;
	}
	if (n > 0)
		s->status = HY_SEEDS_IDLE;
	if (s->cfg.rng_seed == 0) {
		if (hy_random_bytes(seed, sizeof(seed)) != HY_OK)
			memset(seed, 0x5a, sizeof(seed));
		memcpy(&s->cfg.rng_seed, seed, sizeof(seed));
	}
	hy_rng_seed(&s->rng, s->cfg.rng_seed);
	*out = s;
	s = NULL;
	rc = HY_OK;
out:
	hy_seeds_free(s);
	return rc;
}

void
hy_seeds_free(struct hy_seeds *s)
{
	if (s == NULL)
		return;
	s->freeing = true;
	for (size_t i = 0; i < s->n; i++)
		if (s->seeds[i].lk != NULL)
			s->seeds[i].lk->s = NULL;
	/*
	 * Not evdns_getaddrinfo_cancel: its deferred callback would lock the
	 * freed base. Failing the requests here makes evdns answer them with
	 * DNS_ERR_SHUTDOWN, a path that does not touch the base.
	 */
	if (s->dns != NULL)
		evdns_base_free(s->dns, 1);
	if (s->timer != NULL)
		event_free(s->timer);
	for (size_t i = 0; i < s->n; i++)
		free(s->seeds[i].host);
	free(s->seeds);
	free(s->results);
	free(s->out);
	free(s->nameserver);
	free(s);
}

int
hy_seeds_start(struct hy_seeds *s)
{
	if (s->n == 0)
		return HY_ENOENT;
	if (s->phase == PH_RESOLVING || s->phase == PH_WAITING)
		return HY_ESTATE;
	s->status = HY_SEEDS_RESOLVING;
	s->retry_delay_ms = 0;
	schedule(s, 0);
	return HY_OK;
}

int
hy_seeds_attempt_result(struct hy_seeds *s, bool reached)
{
	if (s->phase != PH_WAITING)
		return HY_ESTATE;
	if (reached) {
		s->failures = 0;
		s->status = HY_SEEDS_REACHED;
		s->phase = PH_IDLE;
		s->retry_delay_ms = 0;
	} else
		attempt_failed(s);
	return HY_OK;
}

enum hy_seeds_status
hy_seeds_status(const struct hy_seeds *s)
{
	return s->status;
}

size_t
hy_seeds_count(const struct hy_seeds *s)
{
	return s->n;
}

unsigned
hy_seeds_failures(const struct hy_seeds *s)
{
	return s->failures;
}

uint64_t
hy_seeds_retry_delay_ms(const struct hy_seeds *s)
{
	return s->phase == PH_SCHEDULED ? s->retry_delay_ms : 0;
}
