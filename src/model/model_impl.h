/* model_impl: what model.c shares with model_gguf.c (private to src/model). */
#ifndef R1_MODEL_IMPL_H
#define R1_MODEL_IMPL_H

#include "model/model.h"

/* A model with config c, weights unbound, its pool started. On failure *out
 * may still hold a partial model for r1_model_destroy. */
r1_status r1_model_new(r1_model **out, const r1_config *c, int nthreads);
/* n bytes of the owned slab (sized by the caller beforehand). */
void *r1_model_slab_take(r1_model *m, size_t n);
/* kT from kv_b for the absorbed MLA path (no-op when kT is set or not MLA). */
r1_status r1_model_build_absorbed(r1_model *m);
/* r1_model_load for a .gguf file. */
r1_status r1_model_load_gguf(r1_model **out, const char *path, int nthreads);

#endif
