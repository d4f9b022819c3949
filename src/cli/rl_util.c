/* rl_util: shared helpers of the RL subcommands (see rl_util.h). */
#include "cli/rl_util.h"

#include <stdio.h>
#include <stdlib.h>

#include "io/file.h"

r1_status cli_rl_load(const char *dir, int threads, r1_policy *p, r1_tok **tok) {
    r1_model *m = NULL;
    *tok = NULL;
    R1_TRY(r1_model_load(&m, dir, threads));
    r1_status s = r1_tok_load(tok, dir);
    if (s != R1_OK) {
        r1_model_destroy(m);
        return r1_err_wrap(s, "%s needs a tokenizer.json", dir);
    }
    if (r1_tok_n_vocab(*tok) > m->cfg.vocab) {
        r1_tok_free(*tok);
        *tok = NULL;
        r1_model_destroy(m);
        return r1_fail(R1_INVALID, "%s: tokenizer has more ids than vocab_size", dir);
    }
    r1_policy_init(p, m);
    return R1_OK;
}

static r1_status copy_file(const char *src_dir, const char *dst_dir, const char *name, bool required) {
    char *src = r1_path_join(src_dir, name), *dst = r1_path_join(dst_dir, name), *buf = NULL;
    size_t len = 0;
    r1_status s = src && dst ? R1_OK : r1_fail(R1_NOMEM, "out of memory");
    if (s == R1_OK && !required && !r1_file_exists(src)) goto done;
    if (s == R1_OK) s = r1_file_read_all(src, &buf, &len, (size_t)1 << 30);
    if (s == R1_OK) s = r1_file_write_atomic(dst, buf, len);
done:
    free(buf);
    free(src);
    free(dst);
    return s;
}

r1_status cli_rl_save(const r1_model *m, const char *tok_dir, const char *dst) {
    R1_TRY(r1_model_save(m, dst));
    R1_TRY(copy_file(tok_dir, dst, "tokenizer.json", true));
    return copy_file(tok_dir, dst, "tokenizer_config.json", false);
}

int cli_parse_range(const char *s, int *lo, int *hi) {
    char tail;
    if (sscanf(s, "%d-%d%c", lo, hi, &tail) == 2 && *lo >= 1 && *hi >= *lo) return 0;
    if (sscanf(s, "%d%c", lo, &tail) == 1 && *lo >= 1) return *hi = *lo, 0;
    return -1;
}

int32_t cli_rl_eos(const r1_model *m, const r1_tok *tok) {
    return r1_tok_eos(tok) >= 0 ? r1_tok_eos(tok) : (int32_t)m->cfg.eos_id;
}
