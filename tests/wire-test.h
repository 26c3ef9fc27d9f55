/*
 * wire-test.h: helpers shared by the wire tests (tests/wire-test.c).
 */
#ifndef HY_WIRE_TEST_H
#define HY_WIRE_TEST_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "rng.h"
#include "wire-scan.h"
#include "wire.h"

#define BUFSZ (256 * 1024)

/* A pattern-filled pool that filled messages borrow from; scratch output. */
extern uint8_t pool[HY_VALUE_MAX];
extern uint8_t encbuf[BUFSZ], encbuf2[BUFSZ];

/* One MANIFEST line and its bytes. */
struct vec {
	char name[64];
	char kind[16];
	char path[8];
	char expect[24];
	uint8_t *data;
	size_t len;
};

extern struct vec *vecs;
extern size_t nvecs;

/* Checked fixture: fill the pool, load every vector / free them. */
void setup(void);
void teardown(void);
void vecs_load(void);
void vecs_free(void);
/* "HY_ETRUNC" -> HY_ETRUNC; aborts the test on an unknown name. */
int expect_code(const char *s);
enum hy_wire_path path_of(const char *s);

/* Every message type of messages.def, in table order. */
extern const unsigned all_types[];
extern const size_t ntypes;

void fill_id(struct hy_id *id, int seed);
void fill_addr(struct hy_addr *a, int seed, int v6);
void fill_contact(struct hy_contact *c, int seed, int v6);
void fill_value(struct hy_value *v, int seed, int max);
void fill_gossip(struct hy_msg *m, int max);
/* Every field, count and length at its minimum (max 0) or maximum (1). */
void fill_msg(struct hy_msg *m, unsigned type, int max);
/* encode -> decode -> equal -> encode -> same bytes, on one path. */
void roundtrip(const struct hy_msg *m, enum hy_wire_path path);

/* The codec unit tests (check_wire_codec.c). */
TCase *wire_codec_tcase(void);

#endif /* HY_WIRE_TEST_H */
