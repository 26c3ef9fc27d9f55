/*
 * overlay.c: hypha's main job on one machine, through the public API only:
 * a local overlay of 16 nodes on 127.0.0.1..127.0.0.16 joins through one
 * seed; one node stores a few hundred keys; other nodes read them back; a
 * quarter of the nodes are stopped; the keys are read again; a content
 * hash is announced and its peers found. Prints a summary and exits 0 when
 * every key was found both times.
 *
 *   overlay [NODES [KEYS]]     (defaults 16 and 300)
 */
#include <event2/event.h>
#include <hypha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_NODES 64
#define INFLIGHT 16

static struct event_base *base;
static struct hy_node *nodes[MAX_NODES];
static int nnodes = 16, nkeys = 300;

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void
spin(int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* One batch of operations with bounded concurrency. */
struct op {
	int idx, done, ok;
	double t0, ms;
	char want[64];
};

static struct op *ops;
static int next_op, running, finished;

static void
put_done(void *arg, int err, unsigned stored_on)
{
	struct op *o = arg;

	(void)stored_on;
	o->ok = err == 0;
	o->ms = now_ms() - o->t0;
	o->done = 1;
	running--;
	finished++;
}

static void
get_item(void *arg, int err, const struct hy_value_info *v)
{
	struct op *o = arg;

	if (v != NULL) {
		if (v->len == strlen(o->want) &&
		    memcmp(v->data, o->want, v->len) == 0 && !o->ok) {
			o->ok = 1;
			o->ms = now_ms() - o->t0;
		}
		return;
	}
	(void)err;
	o->done = 1;
	running--;
	finished++;
}

static void
key_of(int i, uint8_t key[HY_ID_LEN])
{
	char name[32];

	snprintf(name, sizeof(name), "demo-key-%d", i);
	hy_key_from_string(name, strlen(name), key);
}

/* Run nkeys puts (from node `from`) or gets (from rotating live nodes). */
static void
batch(int is_put, int from, const int *alive, int nalive, double *lat, int *ok)
{
	memset(ops, 0, sizeof(*ops) * (size_t)nkeys);
	next_op = running = finished = 0;
	*ok = 0;
	while (finished < nkeys) {
		while (running < INFLIGHT && next_op < nkeys) {
			struct op *o = &ops[next_op];
			uint8_t key[HY_ID_LEN];
			int rc;

			o->idx = next_op;
			snprintf(o->want, sizeof(o->want), "value %d", next_op);
			key_of(next_op, key);
			o->t0 = now_ms();
			if (is_put)
				rc = hy_node_put(nodes[from], key, o->want,
				    strlen(o->want), NULL, put_done, o, NULL);
			else
				rc = hy_node_get(nodes[alive[next_op % nalive]],
				    key, get_item, o, NULL);
			next_op++;
			if (rc == 0) {
				running++;
			} else {
				o->done = 1;
				finished++;
			}
		}
		spin(2);
	}
	for (int i = 0; i < nkeys; i++) {
		if (ops[i].ok)
			lat[(*ok)++] = ops[i].ms;
	}
	qsort(lat, (size_t)*ok, sizeof(*lat), cmp);
}

static void
report(const char *what, int ok, const double *lat)
{
	printf("  %-28s %4d/%d", what, ok, nkeys);
	if (ok > 0)
		printf("   latency p50 %6.1f ms  p95 %6.1f ms  p99 %6.1f ms",
		    lat[ok / 2], lat[ok * 95 / 100], lat[ok * 99 / 100]);
	printf("\n");
}

static int peers_found, peers_done;

static void
on_peers(void *arg, int err, const struct hy_peer_info *p, size_t n)
{
	(void)arg;
	(void)err;
	for (size_t i = 0; i < n; i++)
		if (p[i].port == 6881)
			peers_found++;
	if (n == 0)
		peers_done = 1;
}

static void
on_announced(void *arg, int err, unsigned on)
{
	(void)on;
	*(int *)arg = err == 0 ? 1 : -1;
}

int
main(int argc, char **argv)
{
	char err[256], seed[64], listen[64];
	int alive[MAX_NODES], nalive = 0, ok1, ok2, ann = 0;
	double *lat, t0 = now_ms(), tj;
	uint8_t content[HY_ID_LEN];

	if (argc > 1)
		nnodes = atoi(argv[1]);
	if (argc > 2)
		nkeys = atoi(argv[2]);
	if (nnodes < 4 || nnodes > MAX_NODES || nkeys < 1 || nkeys > 100000) {
		fprintf(stderr, "usage: overlay [NODES 4..%d [KEYS]]\n",
		    MAX_NODES);
		return 2;
	}
	ops = calloc((size_t)nkeys, sizeof(*ops));
	lat = calloc((size_t)nkeys, sizeof(*lat));
	base = event_base_new();
	printf("hypha local overlay: %d nodes on 127.0.0.1..%d, %d keys\n",
	    nnodes, nnodes, nkeys);
	for (int i = 0; i < nnodes; i++) {
		struct hy_config *cfg = hy_config_new();

		snprintf(listen, sizeof(listen), "127.0.0.%d:0", i + 1);
		if (hy_config_set(cfg, "listen", listen, err, sizeof(err)) ||
		    hy_config_set(cfg, "network", "demo", err, sizeof(err)) ||
		    (i > 0 &&
		        hy_config_set(cfg, "seed", seed, err, sizeof(err)))) {
			fprintf(stderr, "config: %s\n", err);
			return 1;
		}
		nodes[i] = hy_node_new(base, cfg, err, sizeof(err));
		hy_config_free(cfg);
		if (nodes[i] == NULL ||
		    hy_node_start(nodes[i], err, sizeof(err)) != 0) {
			fprintf(stderr, "node %d: %s\n", i, err);
			return 1;
		}
		if (i == 0)
			hy_node_addr(nodes[0], 4, seed, sizeof(seed));
		alive[nalive++] = i;
	}
	for (int r = 0; r < 500; r++) {
		int joined = 0;

		for (int i = 1; i < nnodes; i++)
			joined += hy_node_joined(nodes[i]);
		if (joined == nnodes - 1)
			break;
		spin(10);
	}
	spin(300); /* let the routing tables fill beyond the seed */
	tj = now_ms();
	printf("  overlay formed in %.0f ms (seed %s)\n", tj - t0, seed);

	batch(1, 1, alive, nalive, lat, &ok1);
	report("puts from node 1", ok1, lat);
	batch(0, 0, alive + 2, nalive - 2, lat, &ok1);
	report("gets from other nodes", ok1, lat);

	/* stop a quarter of the nodes (never the putting node) */
	nalive = 0;
	for (int i = 0; i < nnodes; i++) {
		if (i >= 2 && i % 4 == 2) {
			hy_node_free(nodes[i]);
			nodes[i] = NULL;
		} else {
			alive[nalive++] = i;
		}
	}
	printf("  stopped %d of %d nodes\n", nnodes - nalive, nnodes);
	batch(0, 0, alive + 1, nalive - 1, lat, &ok2);
	report("gets after the loss", ok2, lat);

	hy_key_from_string("a content hash", 14, content);
	hy_node_announce(nodes[3], content, 6881, on_announced, &ann, NULL);
	for (int i = 0; i < 500 && ann == 0; i++)
		spin(10);
	hy_node_get_peers(nodes[alive[nalive - 1]], content, on_peers, NULL,
	    NULL);
	for (int i = 0; i < 500 && !peers_done; i++)
		spin(10);
	printf("  announce + get_peers:        %s\n",
	    ann == 1 && peers_found > 0 ? "found the announcer" : "FAILED");
	printf("  total %.1f s\n", (now_ms() - t0) / 1e3);

	for (int i = 0; i < nnodes; i++)
		hy_node_free(nodes[i]);
	event_base_free(base);
	free(ops);
	free(lat);
	return ok1 == nkeys && ok2 == nkeys && peers_found > 0 ? 0 : 1;
}
