/*
 * state.h: the node's state directory besides node.key (L4): verified
 * routing-table contacts and the node's own permanent puts, saved
 * atomically to text files and loaded back all-or-nothing, plus a lock
 * file that keeps a second daemon off the same directory. File formats:
 * state.c and doc/STATE.md.
 *
 * Loading never fails the node: a missing file is "no state" (HY_OK, no
 * records); a corrupt, truncated, over-limit or newer-version file is
 * reported (HY_ECORRUPT or HY_EVERSION, with "file:line: reason" in err)
 * and no record of it is delivered, so the caller can log and go on.
 */
#ifndef HY_STATE_H
#define HY_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "hypha.h"
#include "id.h"
#include "rtable.h"
#include "store.h"

#define HY_STATE_CONTACTS_FILE "contacts"
#define HY_STATE_PUTS_FILE "puts"
#define HY_STATE_LOCK_FILE "lock"

/* Default caps on the records loaded from one file (max == 0). */
#define HY_STATE_MAX_CONTACTS 4096
#define HY_STATE_MAX_PUTS 1024
/* Largest value a saved put may carry. */
#define HY_STATE_DATA_MAX 65536
/* Longest line (without its newline) accepted in each file. */
#define HY_STATE_CONTACT_LINE_MAX 256
#define HY_STATE_PUT_LINE_MAX (2 * HY_STATE_DATA_MAX + 512)

/* A verified contact worth re-probing after a restart. */
struct hy_state_contact {
	struct hy_id id;
	struct hy_addr addr; /* family set, port != 0 */
	uint64_t last_reply_wall_ms; /* Unix time of its last reply, ms */
};

/*
 * One of the node's own permanent puts. Plain puts have id !=
 * HY_STORE_MUTABLE_ID; a mutable put has is_mutable, id ==
 * HY_STORE_MUTABLE_ID and mut filled (owner key, salt, seq, signature).
 */
struct hy_state_put {
	struct hy_id key;
	uint64_t id;
	const uint8_t *data; /* may be NULL when len == 0 */
	size_t len; /* <= HY_STATE_DATA_MAX */
	uint32_t ttl_s; /* HY_STORE_TTL_MIN_S..HY_STORE_TTL_MAX_S */
	uint32_t flags;
	bool is_mutable;
	struct hy_store_mutable mut; /* valid when is_mutable */
};

/*
 * Load callbacks: a record, borrowed for the call. A non-zero return stops
 * the delivery and is returned by the load function.
 */
typedef int hy_state_contact_cb(const struct hy_state_contact *c, void *arg);
typedef int hy_state_put_cb(const struct hy_state_put *p, void *arg);

/*
 * Write n contacts to dir/contacts atomically (temp file in dir, mode 0600,
 * fsync, rename, fsync of dir); on failure the old file is intact and no
 * temp file remains. n == 0 writes a valid empty file. Returns HY_OK,
 * HY_EINVAL (NULL dir, c NULL with n > 0, a contact with an unset
 * address, port 0 or a zero ID; err names it), HY_ENOENT (dir does not
 * exist), HY_ENOMEM, HY_ECRYPTO (hashing failed) or HY_EIO (err says which
 * step failed and why). The directory is not created here.
 */
int hy_state_save_contacts(const char *dir, const struct hy_state_contact *c,
    size_t n, char *err, size_t errlen);

/*
 * Read dir/contacts, check all of it, then call cb for each record in file
 * order. max caps the records (0 = HY_STATE_MAX_CONTACTS). Returns HY_OK
 * (also when the file does not exist: cb is not called), HY_ECORRUPT (bad
 * header, bad field, line too long, more than max records, truncated,
 * count or checksum mismatch: err is "path:line: reason" and cb is never
 * called), HY_EVERSION (a format version this build cannot read),
 * HY_EINVAL, HY_EIO, HY_ENOMEM, or cb's non-zero value.
 */
int hy_state_load_contacts(const char *dir, hy_state_contact_cb *cb, void *arg,
    size_t max, char *err, size_t errlen);

/* As hy_state_save_contacts, for dir/puts. HY_EINVAL also for a put whose
 * data is too long, TTL out of range, id inconsistent with is_mutable, or
 * salt too long. */
int hy_state_save_puts(const char *dir, const struct hy_state_put *p, size_t n,
    char *err, size_t errlen);

/* As hy_state_load_contacts, for dir/puts (0 = HY_STATE_MAX_PUTS). The
 * data pointers are valid during the callback only. */
int hy_state_load_puts(const char *dir, hy_state_put_cb *cb, void *arg,
    size_t max, char *err, size_t errlen);

/*
 * Collect the routing table's verified contacts (ones that replied, not
 * bad at now_mono_ms) into out[] (up to max), converting last_reply_ms to
 * wall-clock time with the pair (now_mono_ms, now_wall_ms). Returns the
 * number written.
 */
size_t hy_state_collect_contacts(const struct hy_rtable *rt,
    uint64_t now_mono_ms, uint64_t now_wall_ms, struct hy_state_contact *out,
    size_t max);

/*
 * Take the exclusive lock on dir/lock (flock, non-blocking; the file is
 * created with mode 0600 and our PID written into it) and set *fd_out to
 * the descriptor that holds it. Returns HY_OK, HY_EEXIST when another
 * process (or another open of the file) holds it (err: "dir is in use by
 * another process (pid N)"), HY_EINVAL or HY_EIO. *fd_out only on success.
 */
int hy_state_lock(const char *dir, int *fd_out, char *err, size_t errlen);

/* Release a lock taken by hy_state_lock (clears the PID, closes fd).
 * A negative fd is a no-op. */
void hy_state_unlock(int fd);

#endif /* HY_STATE_H */
