using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Datapath.Drivers.VhostUser.Backend;

/// <summary>
/// The small frame copies of one burst, run together once the burst's buffers are all taken (DPDK's
/// batch_copy). Writing into the peer's buffers misses: the line is in the other core's cache.
/// Interleaved with taking buffers, each frame's ring reads and bookkeeping stores queue behind
/// the last frame's missing stores, and few misses are in flight at a time; copied back to back,
/// the stores of many frames miss in parallel. Not for writes the dirty log must follow: a page
/// is marked after it is written (migration).
/// </summary>
internal unsafe ref struct DeferredCopies
{
    public const int Capacity = 64;
    readonly Entry* _entries;
    int _count;

    public struct Entry
    {
        public byte* Destination;
        public byte* Source;
        public nuint Length;
    }

    public DeferredCopies(Entry* entries)
    {
        _entries = entries;
        _count = 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(byte* destination, byte* source, uint length)
    {
        if (_count == Capacity) { Run(_entries, _count); _count = 0; }
        Entry* e = _entries + _count++;
        e->Destination = destination;
        e->Source = source;
        e->Length = length;
    }

    // Inline, calling a static method with the two fields as values: a call on the struct itself takes
    // its address, and the JIT then keeps both fields in the caller's stack frame, loaded and stored
    // around every Add, instead of in registers (seen with DOTNET_JitDisasm in the dequeue burst).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Flush()
    {
        if (_count != 0) Run(_entries, _count);
        _count = 0;
    }

    static void Run(Entry* entries, int count)
    {
        for (int i = 0; i < count; i++)
        {
            Entry* e = entries + i;
            Copy(e->Destination, e->Source, e->Length);
        }
    }

    /// <summary>
    /// Frames of 32 to 128 bytes (the 64-byte ones of a packet-rate test) as two or four overlapping
    /// 32-byte moves, inline: a call into the general memmove, with its size dispatch, cost as much
    /// as the copy. Every load comes before the stores; nothing outside [0, length) is touched.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Copy(byte* destination, byte* source, nuint length)
    {
        if (Vector256.IsHardwareAccelerated && length - 32 <= 96)
        {
            var head = Vector256.Load(source);
            var tail = Vector256.Load(source + length - 32);
            if (length > 64)
            {
                var second = Vector256.Load(source + 32);
                var beforeTail = Vector256.Load(source + length - 64);
                second.Store(destination + 32);
                beforeTail.Store(destination + length - 64);
            }
            head.Store(destination);
            tail.Store(destination + length - 32);
            return;
        }
        Buffer.MemoryCopy(source, destination, length, length);
    }
}
