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
        if (_count == Capacity) { Run(_entries, _count); _count = 0; }
        AddInRoom(destination, source, length);
    }

    /// <summary>Copies that can be added before the list must run.</summary>
    public readonly int Room => Capacity - _count;

    /// <summary>
    /// Room for <paramref name="n"/> more (at most <see cref="Capacity"/>), running the list if it is
    /// short of it: before a loop of <see cref="AddInRoom"/>, which then has no call in it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void MakeRoom(int n)
    {
        if (_count > Capacity - n) { Run(_entries, _count); _count = 0; }
    }

    /// <summary><see cref="Add"/> after <see cref="MakeRoom"/> made room for it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void AddInRoom(byte* destination, byte* source, uint length)
    {
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
            FrameCopy.Copy(e->Destination, e->Source, e->Length);
        }
    }
}
