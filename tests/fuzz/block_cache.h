#ifndef TP_FUZZ_BLOCK_CACHE_H
#define TP_FUZZ_BLOCK_CACHE_H

/* An allocator for fuzz targets whose handles take big buffers (a reader:
 * its 1 MiB window, 256 KiB inflate blocks): blocks of BC_BIG bytes and more
 * are kept when freed and handed out again for the same size, so an input
 * does not cost an mmap and munmap (and a page fault per page) for each.
 * A kept block is poisoned for ASan, so a use after free is still caught;
 * small blocks go straight to malloc. Thread-safe (readers allocate from
 * their threads). Fuzz targets only. */
#include "tradepipe.h"

#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__has_include)
#if __has_include(<sanitizer/asan_interface.h>)
#include <sanitizer/asan_interface.h>
#endif
#endif
#ifndef ASAN_POISON_MEMORY_REGION
#define ASAN_POISON_MEMORY_REGION(a, n)   ((void)(a), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(a, n) ((void)(a), (void)(n))
#endif

#define BC_BIG   ((size_t)64 << 10)
#define BC_SLOTS 64

typedef struct bc_block {
    void *p;
    size_t size;
    int live; /* handed out (else kept) */
} bc_block;

static bc_block bc_blocks[BC_SLOTS];
static pthread_mutex_t bc_mu = PTHREAD_MUTEX_INITIALIZER;

static void *bc_malloc(size_t size, void *payload)
{
    (void)payload;
    if (size < BC_BIG)
        return malloc(size);
    pthread_mutex_lock(&bc_mu);
    int empty = -1;
    for (int i = 0; i < BC_SLOTS; i++) {
        if (bc_blocks[i].p && !bc_blocks[i].live && bc_blocks[i].size == size) {
            bc_blocks[i].live = 1;
            void *p = bc_blocks[i].p;
            pthread_mutex_unlock(&bc_mu);
            ASAN_UNPOISON_MEMORY_REGION(p, size);
            memset(p, 0xbe, 4096); /* as ASan fills a fresh block */
            return p;
        }
        if (!bc_blocks[i].p && empty < 0)
            empty = i;
    }
    void *p = malloc(size);
    if (p && empty >= 0)
        bc_blocks[empty] = (bc_block){p, size, 1};
    pthread_mutex_unlock(&bc_mu);
    return p;
}

static void bc_free(void *ptr, void *payload)
{
    (void)payload;
    if (!ptr)
        return;
    pthread_mutex_lock(&bc_mu);
    for (int i = 0; i < BC_SLOTS; i++) {
        if (bc_blocks[i].p == ptr) {
            if (!bc_blocks[i].live)
                abort(); /* freed twice */
            bc_blocks[i].live = 0;
            ASAN_POISON_MEMORY_REGION(ptr, bc_blocks[i].size);
            pthread_mutex_unlock(&bc_mu);
            return;
        }
    }
    pthread_mutex_unlock(&bc_mu);
    free(ptr);
}

static void *bc_realloc(void *ptr, size_t size, void *payload)
{
    size_t old = 0;
    pthread_mutex_lock(&bc_mu);
    for (int i = 0; ptr && i < BC_SLOTS; i++)
        if (bc_blocks[i].p == ptr)
            old = bc_blocks[i].size;
    pthread_mutex_unlock(&bc_mu);
    if (!old && size < BC_BIG)
        return realloc(ptr, size);
    if (!old) {
        /* a small block grown big: copy it into a kept block */
        void *np = bc_malloc(size, payload);
        if (np && ptr) {
            memcpy(np, ptr, malloc_usable_size(ptr) < size ? malloc_usable_size(ptr) : size);
            free(ptr);
        }
        return np;
    }
    void *np = bc_malloc(size, payload);
    if (np) {
        memcpy(np, ptr, old < size ? old : size);
        bc_free(ptr, payload);
    }
    return np;
}

static const tp_allocator bc_allocator = {bc_malloc, bc_realloc, bc_free, NULL};

#endif
