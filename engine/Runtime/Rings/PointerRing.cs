using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Datapath.Engine.Rings;

/// <summary>
/// A fixed power-of-two ring of pointer-sized entries in native memory (DPDK rte_ring).
/// Enqueue: reserve slots by moving the producer head (a CAS when multi-producer), copy, then
/// publish by moving the producer tail in reservation order. Dequeue is the mirror image.
/// Bulk calls move all or nothing; burst calls move as many as fit.
/// </summary>
public sealed unsafe class PointerRing : IDisposable
{
    readonly RingHeadTail* _ht;
    readonly nint* _slots;
    readonly uint _mask;
    readonly uint _capacity;
    readonly bool _multiProducer;
    readonly bool _multiConsumer;

    public string Name { get; }
    public int Capacity => (int)_capacity;
    public RingFlags Flags { get; }

    public PointerRing(string name, int size, RingFlags flags = RingFlags.None)
    {
        if (size < 2 || !BitOperations.IsPow2(size) || size > (1 << 30))
            throw new ArgumentException($"ring {name}: size {size} must be a power of two between 2 and 2^30", nameof(size));
        Name = name;
        Flags = flags;
        _capacity = (uint)size;
        _mask = (uint)size - 1;
        _multiProducer = (flags & RingFlags.SingleProducer) == 0;
        _multiConsumer = (flags & RingFlags.SingleConsumer) == 0;
        _ht = (RingHeadTail*)NativeMemory.AlignedAlloc((nuint)sizeof(RingHeadTail), 64);
        *_ht = default;
        _slots = (nint*)NativeMemory.AlignedAlloc((nuint)size * (nuint)sizeof(nint), 64);
    }

    /// <summary>
    /// Moves all four indexes of an empty, idle ring to <paramref name="index"/>, so tests can
    /// cross the 2^32 wrap of the free-running indexes in a few operations instead of 2^32.
    /// </summary>
    internal void StartIndexesAt(uint index)
    {
        if (Count != 0) throw new InvalidOperationException($"ring {Name}: indexes move only while empty");
        _ht->ProdHead = _ht->ProdTail = _ht->ConsHead = _ht->ConsTail = index;
    }

    /// <summary>Entries in the ring now (exact only when no one is moving).</summary>
    public int Count
    {
        get
        {
            uint n = Volatile.Read(ref _ht->ProdTail) - Volatile.Read(ref _ht->ConsTail);
            return (int)Math.Min(n, _capacity);
        }
    }

    public int FreeCount => (int)_capacity - Count;
    public bool IsEmpty => Count == 0;
    public bool IsFull => Count == (int)_capacity;

    /// <summary>Enqueues every object or none. Returns the number enqueued (0 or objs.Length).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int EnqueueBulk(ReadOnlySpan<nint> objs) => Enqueue(objs, bulk: true);

    /// <summary>Enqueues as many objects as fit. Returns how many.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int EnqueueBurst(ReadOnlySpan<nint> objs) => Enqueue(objs, bulk: false);

    /// <summary>Dequeues exactly objs.Length objects or none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int DequeueBulk(Span<nint> objs) => Dequeue(objs, bulk: true);

    /// <summary>Dequeues up to objs.Length objects. Returns how many.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int DequeueBurst(Span<nint> objs) => Dequeue(objs, bulk: false);

    /// <summary>Enqueues one object; false when the ring is full.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryEnqueue(nint obj)
    {
        if (_multiProducer) return Enqueue(new ReadOnlySpan<nint>(ref obj), bulk: true) == 1;
        // Single producer, one object: no span, no copy loop (rte_ring's single-object fast path).
        uint head = _ht->ProdHead;
        // Acquire: the consumer has finished reading the slot we are about to overwrite.
        if (head - Volatile.Read(ref _ht->ConsTail) >= _capacity) return false;
        _slots[head & _mask] = obj;
        _ht->ProdHead = head + 1;
        // Release: the slot is written before the consumer can see the new tail.
        Volatile.Write(ref _ht->ProdTail, head + 1);
        return true;
    }

    /// <summary>Dequeues one object; false when the ring is empty.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryDequeue(out nint obj)
    {
        if (_multiConsumer)
        {
            Unsafe.SkipInit(out obj);
            return Dequeue(new Span<nint>(ref obj), bulk: true) == 1;
        }
        uint head = _ht->ConsHead;
        // Acquire: the producer's slot write is visible once we see its tail.
        if (Volatile.Read(ref _ht->ProdTail) == head) { obj = 0; return false; }
        obj = _slots[head & _mask];
        _ht->ConsHead = head + 1;
        // Release: our read of the slot completes before the producer may reuse it.
        Volatile.Write(ref _ht->ConsTail, head + 1);
        return true;
    }

    int Enqueue(ReadOnlySpan<nint> objs, bool bulk)
    {
        uint n = (uint)objs.Length;
        uint head, next;
        if (!_multiProducer)
        {
            head = _ht->ProdHead;
            // Acquire: slots the consumer released are not overwritten before it read them.
            uint free = _capacity + Volatile.Read(ref _ht->ConsTail) - head;
            if (n > free) { if (bulk) return 0; n = free; }
            if (n == 0) return 0;
            next = head + n;
            _ht->ProdHead = next;
        }
        else
        {
            while (true)
            {
                head = Volatile.Read(ref _ht->ProdHead);
                uint free = _capacity + Volatile.Read(ref _ht->ConsTail) - head;
                uint take = n;
                if (take > free) { if (bulk) return 0; take = free; }
                if (take == 0) return 0;
                next = head + take;
                if (Interlocked.CompareExchange(ref _ht->ProdHead, next, head) == head) { n = take; break; }
            }
        }

        CopyIn(head, objs[..(int)n]);

        if (_multiProducer)
        {
            // Producers that reserved earlier slots publish first, so the tail never passes an unwritten slot.
            while (Volatile.Read(ref _ht->ProdTail) != head) Thread.SpinWait(1);
        }
        // Release: the slot writes above become visible before the new tail does.
        Volatile.Write(ref _ht->ProdTail, next);
        return (int)n;
    }

    int Dequeue(Span<nint> objs, bool bulk)
    {
        uint n = (uint)objs.Length;
        uint head, next;
        if (!_multiConsumer)
        {
            head = _ht->ConsHead;
            // Acquire: we read slots only after the producer published them.
            uint avail = Volatile.Read(ref _ht->ProdTail) - head;
            if (n > avail) { if (bulk) return 0; n = avail; }
            if (n == 0) return 0;
            next = head + n;
            _ht->ConsHead = next;
        }
        else
        {
            while (true)
            {
                head = Volatile.Read(ref _ht->ConsHead);
                uint avail = Volatile.Read(ref _ht->ProdTail) - head;
                uint take = n;
                if (take > avail) { if (bulk) return 0; take = avail; }
                if (take == 0) return 0;
                next = head + take;
                if (Interlocked.CompareExchange(ref _ht->ConsHead, next, head) == head) { n = take; break; }
            }
        }

        CopyOut(head, objs[..(int)n]);

        if (_multiConsumer)
        {
            while (Volatile.Read(ref _ht->ConsTail) != head) Thread.SpinWait(1);
        }
        // Release: our slot reads complete before producers may reuse the slots.
        Volatile.Write(ref _ht->ConsTail, next);
        return (int)n;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    void CopyIn(uint head, ReadOnlySpan<nint> objs)
    {
        uint idx = head & _mask;
        int first = (int)Math.Min((uint)objs.Length, _capacity - idx);
        objs[..first].CopyTo(new Span<nint>(_slots + idx, first));
        if (first < objs.Length) objs[first..].CopyTo(new Span<nint>(_slots, objs.Length - first));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    void CopyOut(uint head, Span<nint> objs)
    {
        uint idx = head & _mask;
        int first = (int)Math.Min((uint)objs.Length, _capacity - idx);
        new ReadOnlySpan<nint>(_slots + idx, first).CopyTo(objs);
        if (first < objs.Length) new ReadOnlySpan<nint>(_slots, objs.Length - first).CopyTo(objs[first..]);
    }

    bool _disposed;

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        NativeMemory.AlignedFree(_slots);
        NativeMemory.AlignedFree(_ht);
        GC.SuppressFinalize(this);
    }

    ~PointerRing() => Dispose();

    public override string ToString() => $"ring {Name}: {Count}/{Capacity} ({Flags})";
}
