/*
 * fileshare.c: hypha as the peer-discovery backend of a (toy) file-sharing
 * program, using only the installed <hypha.h> and pkg-config:
 *
 *   cc fileshare.c $(pkg-config --cflags --libs libhypha libevent) -o fileshare
 *   ./fileshare [content-name]
 *
 * It starts three nodes on 127.0.0.1 in one process: a seed, a "seeder"
 * that has the content and announces it (its content hash and the port it
 * would serve it on), and a "leecher" that looks up who has the content.
 * Exit status 0 when the leecher found the seeder.
 */
#include <event2/event.h>
#include <hypha.h>
#include <stdio.h>
#include <string.h>

static struct event_base *base;
static int done, found;

static struct hy_node *
start_node(const char *seed)
{
	struct hy_config *cfg = hy_config_new();
	struct hy_node *n = NULL;
	char err[256];

	if (cfg == NULL ||
	    hy_config_set(cfg, "listen", "127.0.0.1:0", err, sizeof(err)) !=
	        0 ||
	    hy_config_set(cfg, "network", "fileshare-example", err,
	        sizeof(err)) != 0 ||
	    (seed != NULL &&
	        hy_config_set(cfg, "seed", seed, err, sizeof(err)) != 0)) {
		fprintf(stderr, "config: %s\n", err);
		goto out;
	}
	n = hy_node_new(base, cfg, err, sizeof(err));
	if (n == NULL || hy_node_start(n, err, sizeof(err)) != 0) {
		fprintf(stderr, "node: %s\n", err);
		hy_node_free(n);
		n = NULL;
	}
out:
	hy_config_free(cfg);
	return n;
}

static void
run_for_ms(int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static void
announced(void *arg, int err, unsigned stored_on)
{
	(void)arg;
	if (err != 0)
		fprintf(stderr, "announce: %s\n", hy_strerror(err));
	else
		printf("seeder: announced on %u nodes\n", stored_on);
	done = 1;
}

static void
peers(void *arg, int err, const struct hy_peer_info *p, size_t n)
{
	(void)arg;
	for (size_t i = 0; i < n; i++) {
		printf("leecher: %s has the content\n", p[i].text);
		if (p[i].port == 6881)
			found = 1;
	}
	if (n == 0) {
		if (err != 0)
			printf("leecher: lookup ended: %s\n", hy_strerror(err));
		done = 1;
	}
}

int
main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "ubuntu-24.04.iso";
	struct hy_node *seed, *seeder, *leecher;
	uint8_t hash[HY_ID_LEN];
	char seedaddr[64];

	base = event_base_new();
	seed = start_node(NULL);
	if (seed == NULL ||
	    hy_node_addr(seed, 4, seedaddr, sizeof(seedaddr)) == NULL)
		return 1;
	seeder = start_node(seedaddr);
	leecher = start_node(seedaddr);
	if (seeder == NULL || leecher == NULL)
		return 1;
	for (int i = 0;
	     i < 100 && !(hy_node_joined(seeder) && hy_node_joined(leecher));
	     i++)
		run_for_ms(50);

	hy_key_from_string(name, strlen(name), hash);
	done = 0;
	if (hy_node_announce(seeder, hash, 6881, announced, NULL, NULL) != 0)
		return 1;
	for (int i = 0; i < 200 && !done; i++)
		run_for_ms(50);
	done = 0;
	if (hy_node_get_peers(leecher, hash, peers, NULL, NULL) != 0)
		return 1;
	for (int i = 0; i < 200 && !done; i++)
		run_for_ms(50);

	hy_node_free(leecher);
	hy_node_free(seeder);
	hy_node_free(seed);
	event_base_free(base);
	printf("%s\n", found ? "found the seeder" : "seeder not found");
	return found ? 0 : 1;
}
