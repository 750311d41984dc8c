#ifndef TP_FUZZ_THREAD_POOL_H
#define TP_FUZZ_THREAD_POOL_H

/* Threads kept across inputs, for fuzz targets whose library calls start
 * threads (the reader's inflate and read-ahead threads). Under ASan a thread
 * that exits unmaps its bookkeeping, and on a virtual machine that munmap's
 * TLB shootdown costs milliseconds: one thread start per input held a target
 * to ~300 inputs a second. So this file defines pthread_create and
 * pthread_join for the whole program: while an input runs
 * (thread_pool_begin .. thread_pool_end), pthread_create hands the routine
 * to an idle worker of a small pool (a new worker when none is idle) and
 * pthread_join waits for the routine to return; the worker then waits for
 * the next. The routine still runs on another thread, concurrently with the
 * caller, with the library's own locks; what is lost is only thread start
 * and exit, which the library does nothing in. Outside an input (libFuzzer's
 * own threads) both calls go to the real ones, through ASan's interceptors
 * when ASan is there. Both are exported (default visibility), so libstdc++'s
 * calls land here too and ASan keeps seeing every thread. Fuzz targets only;
 * include it in one file. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#define POOL_MAX 16

typedef struct pool_worker {
    void *(*fn)(void *);
    void *arg, *ret;
    int state; /* 0 idle, 1 running a routine, 2 returned (not joined) */
} pool_worker;

static pool_worker pool[POOL_MAX];
static int pool_n, pool_on;
static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cv = PTHREAD_COND_INITIALIZER;

typedef int (*pool_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
typedef int (*pool_join_fn)(pthread_t, void **);
/* ASan's interceptors, when the program has ASan (weak: NULL otherwise). */
extern int __interceptor_pthread_create(pthread_t *, const pthread_attr_t *, void *(*)(void *),
                                        void *) __attribute__((weak));
extern int __interceptor_pthread_join(pthread_t, void **) __attribute__((weak));

static pool_create_fn pool_real_create(void)
{
    static pool_create_fn f;
    if (!f)
        f = __interceptor_pthread_create ? __interceptor_pthread_create
                                         : (pool_create_fn)dlsym(RTLD_NEXT, "pthread_create");
    return f;
}

static pool_join_fn pool_real_join(void)
{
    static pool_join_fn f;
    if (!f)
        f = __interceptor_pthread_join ? __interceptor_pthread_join
                                       : (pool_join_fn)dlsym(RTLD_NEXT, "pthread_join");
    return f;
}

static void *pool_main(void *p)
{
    pool_worker *w = p;
    pthread_mutex_lock(&pool_mu);
    for (;;) {
        while (w->state != 1)
            pthread_cond_wait(&pool_cv, &pool_mu);
        pthread_mutex_unlock(&pool_mu);
        void *ret = w->fn(w->arg);
        pthread_mutex_lock(&pool_mu);
        w->ret = ret;
        w->state = 2;
        pthread_cond_broadcast(&pool_cv);
    }
    return NULL;
}

__attribute__((visibility("default"))) int pthread_create(pthread_t *restrict t,
                                                          const pthread_attr_t *restrict attr,
                                                          void *(*fn)(void *), void *restrict arg)
{
    pthread_mutex_lock(&pool_mu);
    if (!pool_on || attr) {
        pthread_mutex_unlock(&pool_mu);
        return pool_real_create()(t, attr, fn, arg);
    }
    int i = 0;
    while (i < pool_n && pool[i].state != 0)
        i++;
    if (i == pool_n) {
        pthread_t real;
        if (pool_n == POOL_MAX || pool_real_create()(&real, NULL, pool_main, &pool[i]) != 0) {
            pthread_mutex_unlock(&pool_mu);
            return EAGAIN;
        }
        pool_n++;
    }
    pool[i].fn = fn;
    pool[i].arg = arg;
    pool[i].state = 1;
    pthread_cond_broadcast(&pool_cv);
    pthread_mutex_unlock(&pool_mu);
    *t = (pthread_t)(uintptr_t)&pool[i];
    return 0;
}

__attribute__((visibility("default"))) int pthread_join(pthread_t t, void **ret)
{
    uintptr_t a = (uintptr_t)t;
    if (a < (uintptr_t)&pool[0] || a >= (uintptr_t)&pool[POOL_MAX])
        return pool_real_join()(t, ret);
    pool_worker *w = (pool_worker *)a;
    pthread_mutex_lock(&pool_mu);
    while (w->state != 2)
        pthread_cond_wait(&pool_cv, &pool_mu);
    if (ret)
        *ret = w->ret;
    w->state = 0;
    pthread_mutex_unlock(&pool_mu);
    return 0;
}

static void thread_pool_begin(void)
{
    pthread_mutex_lock(&pool_mu);
    pool_on = 1;
    pthread_mutex_unlock(&pool_mu);
}

/* Every routine started during the input must have been joined. */
static void thread_pool_end(void)
{
    pthread_mutex_lock(&pool_mu);
    pool_on = 0;
    for (int i = 0; i < pool_n; i++)
        if (pool[i].state != 0)
            abort(); /* a thread the library started and never joined */
    pthread_mutex_unlock(&pool_mu);
}

#endif
