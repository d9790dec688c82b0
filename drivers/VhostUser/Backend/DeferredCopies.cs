using System.Runtime.CompilerServices;

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
        if (_count == Capacity) Flush();
        Entry* e = _entries + _count++;
        e->Destination = destination;
        e->Source = source;
        e->Length = length;
    }

    public void Flush()
    {
        for (int i = 0; i < _count; i++)
        {
            Entry* e = _entries + i;
            Buffer.MemoryCopy(e->Source, e->Destination, e->Length, e->Length);
        }
        _count = 0;
    }
}
