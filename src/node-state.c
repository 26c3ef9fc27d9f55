/*
 * node-state.c: the node's state directory.
 *
 * At start the directory is locked (a second daemon on it refuses to
 * start), the saved contacts are re-probed together with the seeds (a
 * contact is trusted only once it answers again; if none does, the seeds
 * still bring the node in), and the node's own permanent puts are put
 * again. The contacts that replied and the permanent puts are saved at
 * stop and once a minute, each file atomically (state.c). A corrupt file
 * is logged and ignored: it never stops the node.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "node-internal.h"
#include "state.h"

#define HY_NODE_SAVE_MS 60000
#define HY_NODE_PROBE_MAX 256 /* saved contacts re-probed at start */

int
hy_node_state_open(struct hy_node *n, char *err, size_t errlen)
{
	n->lock_fd = -1;
	if (n->cfg.state_dir[0] == '\0')
		return HY_OK;
	return hy_state_lock(n->cfg.state_dir, &n->lock_fd, err, errlen);
}

void
hy_node_state_close(struct hy_node *n)
{
	if (n->lock_fd >= 0)
		hy_state_unlock(n->lock_fd);
	n->lock_fd = -1;
	for (size_t i = 0; i < HY_NODE_PERM_MAX; i++)
		if (n->perm[i].used) {
			free(n->perm[i].data);
			n->perm[i].used = false;
		}
}

int
hy_node_perm_add(struct hy_node *n, const struct hy_id *key,
    const struct hy_value *v, uint64_t handle)
{
	struct hy_node_perm *p = NULL;

	for (size_t i = 0; i < HY_NODE_PERM_MAX && p == NULL; i++)
		if (!n->perm[i].used)
			p = &n->perm[i];
	if (p == NULL)
		return HY_EFULL;
	p->data = malloc(v->data.len > 0 ? v->data.len : 1);
	if (p->data == NULL)
		return HY_ENOMEM;
	memcpy(p->data, v->data.ptr, v->data.len);
	p->len = v->data.len;
	p->key = *key;
	p->value_id = v->id;
	p->ttl_s = (uint32_t)v->ttl_s;
	p->handle = handle;
	p->used = true;
	return HY_OK;
}

void
hy_node_perm_forget(struct hy_node *n, uint64_t handle)
{
	for (size_t i = 0; i < HY_NODE_PERM_MAX; i++)
		if (n->perm[i].used && n->perm[i].handle == handle) {
			free(n->perm[i].data);
			n->perm[i].used = false;
		}
}

struct hy_probe_list {
	struct hy_addr *addrs;
	size_t n, max;
};

static int
hy_node_collect_contact(const struct hy_state_contact *c, void *arg)
{
	struct hy_probe_list *l = arg;

	if (l->n < l->max)
		l->addrs[l->n++] = c->addr;
	return 0;
}

static void
hy_node_restored_put(void *arg, int err, unsigned stored_on,
    const struct hy_dht_op_info *info)
{
	struct hy_node *n = arg;

	(void)info;
	hy_log_emit(&n->log, err == HY_OK ? HY_LOG_DEBUG : HY_LOG_WARN,
	    "restored permanent put: %s (%u nodes)", hy_strerror(err),
	    stored_on);
}

static int
hy_node_restore_put(const struct hy_state_put *p, void *arg)
{
	struct hy_node *n = arg;
	struct hy_value v;
	uint64_t h = 0;

	if (p->is_mutable)
		return 0; /* mutable puts are the owner's to re-sign */
	memset(&v, 0, sizeof(v));
	v.id = p->id;
	v.ttl_s = p->ttl_s;
	v.flags = p->flags;
	v.data.ptr = p->data;
	v.data.len = p->len;
	if (hy_dht_put(n->dht, &p->key, &v, true, hy_node_restored_put, n,
	        hy_node_now(), &h) == HY_OK)
		(void)hy_node_perm_add(n, &p->key, &v, h);
	return 0;
}

void
hy_node_state_restore(struct hy_node *n, uint64_t now)
{
	struct hy_addr addrs[HY_NODE_PROBE_MAX];
	struct hy_probe_list l = { addrs, 0, HY_NODE_PROBE_MAX };
	const char *dir = n->cfg.state_dir;
	char err[512];

	if (dir[0] != '\0') {
		if (hy_state_load_contacts(dir, hy_node_collect_contact, &l,
		        HY_NODE_PROBE_MAX, err, sizeof(err)) != HY_OK) {
			hy_log_emit(&n->log, HY_LOG_WARN,
			    "ignoring saved contacts: %s", err);
			l.n = 0;
		}
		if (hy_state_load_puts(dir, hy_node_restore_put, n, 0, err,
		        sizeof(err)) != HY_OK)
			hy_log_emit(&n->log, HY_LOG_WARN,
			    "ignoring saved puts: %s", err);
	}
	if (l.n > 0)
		hy_log_emit(&n->log, HY_LOG_INFO,
		    "re-probing %zu saved contacts", l.n);
	/* saved contacts now; the seeds follow as soon as they resolve */
	if (l.n > 0)
		(void)hy_dht_bootstrap(n->dht, addrs, l.n, now);
	n->next_save_ms = now + HY_NODE_SAVE_MS;
}

void
hy_node_state_save(struct hy_node *n, uint64_t now)
{
	struct hy_state_contact *c;
	struct hy_state_put *p;
	const char *dir = n->cfg.state_dir;
	char err[512];
	size_t nc, np = 0;

	n->next_save_ms = now + HY_NODE_SAVE_MS;
	if (dir[0] == '\0' || n->dht == NULL)
		return;
	c = calloc(HY_STATE_MAX_CONTACTS, sizeof(*c));
	p = calloc(HY_NODE_PERM_MAX, sizeof(*p));
	if (c == NULL || p == NULL)
		goto out;
	nc = hy_state_collect_contacts(hy_dht_rtable(n->dht), now,
	    hy_clock_wall(hy_clock_system()), c, HY_STATE_MAX_CONTACTS);
	if (hy_state_save_contacts(dir, c, nc, err, sizeof(err)) != HY_OK)
		hy_log_emit(&n->log, HY_LOG_WARN, "saving contacts: %s", err);
	for (size_t i = 0; i < HY_NODE_PERM_MAX; i++) {
		const struct hy_node_perm *q = &n->perm[i];

		if (!q->used)
			continue;
		p[np].key = q->key;
		p[np].id = q->value_id;
		p[np].data = q->data;
		p[np].len = q->len;
		p[np].ttl_s = q->ttl_s;
		np++;
	}
	if (hy_state_save_puts(dir, p, np, err, sizeof(err)) != HY_OK)
		hy_log_emit(&n->log, HY_LOG_WARN, "saving puts: %s", err);
out:
	free(c);
	free(p);
}
