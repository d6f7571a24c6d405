# Hand-written buffer functions: NAME | ASM (`;` between instructions) | SIGNATURE | VERDICT [| WHY]
# Safe shapes the issue names, then out-of-bounds variants of them.
sum_index_jl | xor eax, eax; xor ecx, ecx; test rsi, rsi; jle 2f; 1: add rax, qword ptr [rdi+rcx*8]; inc rcx; cmp rcx, rsi; jl 1b; 2: ret | int64(int64* xs[n], int64 n) | safe
sum_index_jb | xor eax, eax; xor ecx, ecx; test rsi, rsi; je 2f; 1: add rax, qword ptr [rdi+rcx*8]; inc rcx; cmp rcx, rsi; jb 1b; 2: ret | int64(int64* xs[n], uint64 n) | safe
sum_index_jne | xor eax, eax; test rsi, rsi; jle 2f; xor ecx, ecx; 1: movzx edx, byte ptr [rdi+rcx]; add rax, rdx; add rcx, 1; cmp rcx, rsi; jne 1b; 2: ret | int64(uint8* s[n], int64 n) | safe
sum_walk_end | xor eax, eax; test rsi, rsi; jle 2f; lea rdx, [rdi+rsi*8]; 1: add rax, qword ptr [rdi]; add rdi, 8; cmp rdi, rdx; jne 1b; 2: ret | int64(int64* xs[n], int64 n) | safe
sum_walk_end_wrap | xor eax, eax; lea rdx, [rdi+rsi*8]; cmp rdi, rdx; jae 2f; 1: add rax, qword ptr [rdi]; add rdi, 8; cmp rdi, rdx; jne 1b; 2: ret | int64(int64* xs[n], int64 n) | unsafe | end pointer overflow: for n near INT64_MIN (an empty buffer) xs + 8n wraps above xs
sum_count_down | xor eax, eax; 1: test rsi, rsi; jle 2f; dec rsi; add rax, qword ptr [rdi+rsi*8]; jmp 1b; 2: ret | int64(int64* xs[n], int64 n) | safe
get_unsigned_check | mov rax, -1; cmp rdx, rsi; jae 1f; mov rax, qword ptr [rdi+rdx*8]; 1: ret | int64(int64* xs[n], uint64 n, int64 i) | safe
get_masked | and esi, 7; mov rax, qword ptr [rdi+rsi*8]; ret | int64(int64* xs[8], int64 i) | safe
get_by_byte | movzx eax, byte ptr [rsi]; mov rax, qword ptr [rdi+rax*8]; ret | int64(int64* t[256], uint8* s[1]) | safe
store_last | mov qword ptr [rdi+56], rsi; mov rax, rsi; ret | int64(mut int64* out[8], int64 x) | safe
spill_reload | mov qword ptr [rsp-8], rdi; xor edi, edi; mov rax, qword ptr [rsp-8]; mov rax, qword ptr [rax+8]; ret | int64(int64* xs[2], int64 x) | safe
local_array | mov qword ptr [rsp-64], rdi; mov qword ptr [rsp-56], rdi; mov qword ptr [rsp-48], rdi; mov qword ptr [rsp-40], rdi; and esi, 3; mov qword ptr [rsp+rsi*8-64], rdx; mov rax, qword ptr [rsp-48]; ret | int64(int64 x, int64 i, int64 y) | safe
two_buffers_walk | test rcx, rcx; jle 2f; xor eax, eax; 1: mov r8, qword ptr [rsi+rax*8]; add r8, qword ptr [rdx+rax*8]; mov qword ptr [rdi+rax*8], r8; inc rax; cmp rax, rcx; jl 1b; 2: mov rax, rcx; ret | int64(mut int64* out[n], int64* a[n], int64* b[n], int64 n) | safe
last_dword | test rsi, rsi; jle 1f; mov eax, dword ptr [rdi+rsi*4-4]; ret; 1: xor eax, eax; ret | int32(int32* xs[n], int64 n) | safe
sum_index_jle | xor eax, eax; xor ecx, ecx; test rsi, rsi; jl 2f; 1: add rax, qword ptr [rdi+rcx*8]; inc rcx; cmp rcx, rsi; jle 1b; 2: ret | int64(int64* xs[n], int64 n) | unsafe | off by one: jle runs i up to n
sum_walk_end_plus | xor eax, eax; lea rdx, [rdi+rsi*8+8]; cmp rdi, rdx; jae 2f; 1: add rax, qword ptr [rdi]; add rdi, 8; cmp rdi, rdx; jne 1b; 2: ret | int64(int64* xs[n], int64 n) | unsafe | end pointer one element past the end
get_signed_check | mov rax, -1; cmp rdx, rsi; jge 1f; mov rax, qword ptr [rdi+rdx*8]; 1: ret | int64(int64* xs[n], int64 n, int64 i) | unsafe | signed-only check: a negative i reads before xs
get_masked_15 | and esi, 15; mov rax, qword ptr [rdi+rsi*8]; ret | int64(int64* xs[8], int64 i) | unsafe | mask 15 for an extent of 8
get_by_signed_byte | movsx rax, byte ptr [rsi]; mov rax, qword ptr [rdi+rax*8]; ret | int64(int64* t[256], uint8* s[1]) | unsafe | sign-extended byte index: t[-128..-1]
store_read_only | mov qword ptr [rdi+56], rsi; mov rax, rsi; ret | int64(int64* out[8], int64 x) | unsafe | store into a buffer without mut
store_past_end | mov qword ptr [rdi+64], rsi; mov rax, rsi; ret | int64(mut int64* out[8], int64 x) | unsafe | store one element past a constant extent
straddle_end | test rsi, rsi; jle 1f; mov rax, qword ptr [rdi+rsi*8-4]; ret; 1: xor eax, eax; ret | int64(int64* xs[n], int64 n) | unsafe | misaligned load straddling the end: its last 4 bytes are past it
last_unchecked | mov rax, qword ptr [rdi+rsi*8-8]; ret | int64(int64* xs[n], int64 n) | unsafe | missing check: reads xs[n-1] when n is 0
wide_last | test rsi, rsi; jle 1f; mov rax, qword ptr [rdi+rsi*4-4]; ret; 1: xor eax, eax; ret | int64(int32* xs[n], int64 n) | unsafe | element width: an 8-byte load of the last 4-byte element
spill_reload_bad | mov qword ptr [rsp-8], rdi; xor edi, edi; mov rax, qword ptr [rsp-8]; mov rax, qword ptr [rax+16]; ret | int64(int64* xs[2], int64 x) | unsafe | a pointer reloaded from the stack, then read one element past the end
two_buffers_walk_other_extent | test rcx, rcx; jle 2f; xor eax, eax; 1: mov r9, qword ptr [rsi+rax*8]; add r9, qword ptr [rdx+rax*8]; mov qword ptr [rdi+rax*8], r9; inc rax; cmp rax, rcx; jl 1b; 2: mov rax, rcx; ret | int64(mut int64* out[n], int64* a[n], int64* b[m], int64 n, int64 m) | unsafe | index from another buffer's extent: b is read up to n, it holds m
sum_count_down_from_n | xor eax, eax; 1: test rsi, rsi; jl 2f; add rax, qword ptr [rdi+rsi*8]; dec rsi; jmp 1b; 2: ret | int64(int64* xs[n], int64 n) | unsafe | off by one: counts down from xs[n]
local_array_unmasked | mov qword ptr [rsp-64], rdi; mov qword ptr [rsp-56], rdi; mov qword ptr [rsp-48], rdi; mov qword ptr [rsp-40], rdi; mov qword ptr [rsp+rsi*8-64], rdx; mov rax, qword ptr [rsp-48]; ret | int64(int64 x, int64 i, int64 y) | unsafe | an unchecked index into a local array writes anywhere near the stack
get_by_byte | movzx eax, byte ptr [rsi]; mov rax, qword ptr [rdi+rax*8]; ret | int64(int64* t[128], uint8* s[1]) | unsafe | constant extent 128 for an index that is any byte
get_unsigned_check | mov rax, -1; cmp rdx, rsi; jae 1f; mov rax, qword ptr [rdi+rdx*8]; 1: ret | int64(int64* xs[n], int64 n, int64 i) | unsafe | unsigned check against a signed extent: a negative n (an empty buffer) passes every index
last_dword | test rsi, rsi; jle 1f; mov eax, dword ptr [rdi+rsi*4-4]; ret; 1: xor eax, eax; ret | int32(int16* xs[n], int64 n) | unsafe | element width: reads the last 4-byte element of a buffer of 2-byte ones
store_last | mov qword ptr [rdi+56], rsi; mov rax, rsi; ret | int64(mut int64* out[7], int64 x) | unsafe | constant extent too small: the store is to element 7
sum_index_jb | xor eax, eax; xor ecx, ecx; test rsi, rsi; je 2f; 1: add rax, qword ptr [rdi+rcx*8]; inc rcx; cmp rcx, rsi; jb 1b; 2: ret | int64(int64* xs[n], int64 n) | unsafe | unsigned loop over a signed extent: a negative n (an empty buffer) runs i up to 2^64
sum_index_jl | xor eax, eax; xor ecx, ecx; test rsi, rsi; jle 2f; 1: add rax, qword ptr [rdi+rcx*8]; inc rcx; cmp rcx, rsi; jl 1b; 2: ret | int64(int32* xs[n], int64 n) | unsafe | element width: reads 8-byte elements of a buffer of 4-byte ones
sum_index_jne | xor eax, eax; test rsi, rsi; jle 2f; xor ecx, ecx; 1: movzx edx, byte ptr [rdi+rcx]; add rax, rdx; add rcx, 1; cmp rcx, rsi; jne 1b; 2: ret | int64(uint8* s[16], int64 n) | unsafe | constant extent 16 for a loop bounded by n
