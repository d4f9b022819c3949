/* r1.h — the public C API of libr1 (build/libr1.a), in one include.
 *
 * Compile with -Iinclude -Isrc and link build/libr1.a -lcjson -lpcre2-8 -lm -lpthread.
 * Every fallible call returns an r1_status (R1_OK = 0, negative codes from
 * core/status.h) and leaves a message in r1_errmsg(); results come back through
 * out-parameters. Ownership is stated on each function in its own header.
 *
 *   load       r1_model_load(&m, "folder", threads)          model/model.h
 *              r1_tok_load(&tok, "folder")                     tok/tokenizer.h
 *   tokenize   r1_tok_encode / r1_tok_decode / r1_tok_stream   tok/tokenizer.h
 *   chat       r1_chat_render (R1 format), r1_chat_split       tok/chat.h
 *   generate   r1_generate (one sequence), r1_engine (continuous batching)
 *                                                              infer/generate.h, infer/batch.h
 *   forward    r1_model_forward over a flat batch of (token, slot, position) rows
 *   train      r1_train_create / forward / backward / step     train/train.h
 *   tasks      r1_task_find, r1_reward_score                   tasks/task.h, tasks/reward.h
 */
#ifndef R1_H
#define R1_H

#include "core/status.h"
#include "infer/batch.h"
#include "infer/generate.h"
#include "infer/sampler.h"
#include "model/model.h"
#include "tasks/reward.h"
#include "tasks/task.h"
#include "tok/chat.h"
#include "tok/tokenizer.h"
#include "train/train.h"

#endif
