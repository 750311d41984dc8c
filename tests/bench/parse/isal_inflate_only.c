/* The decompression floor with ISA-L: inflate a gzip file (multi-member)
 * with igzip in one thread, CRC checked, and discard the output. Prints the
 * uncompressed byte count. Beside inflate_only.c (zlib) in the benchmark. */
#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: isal_inflate_only FILE.gz\n");
        return 2;
    }
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) {
        perror(argv[1]);
        return 2;
    }
    static unsigned char in[1 << 18], out[1 << 18];
    static struct inflate_state s;
    isal_inflate_init(&s);
    s.crc_flag = ISAL_GZIP;
    unsigned long long total = 0;
    ssize_t n;
    while ((n = read(fd, in, sizeof in)) > 0) {
        s.next_in = in;
        s.avail_in = (uint32_t)n;
        while (s.avail_in > 0) {
            if (s.block_state == ISAL_BLOCK_FINISH) {
                isal_inflate_reset(&s);
                s.crc_flag = ISAL_GZIP;
            }
            s.next_out = out;
            s.avail_out = sizeof out;
            if (isal_inflate(&s) < 0) {
                fprintf(stderr, "inflate error\n");
                return 1;
            }
            total += sizeof out - s.avail_out;
        }
    }
    close(fd);
    printf("%llu\n", total);
    return 0;
}
