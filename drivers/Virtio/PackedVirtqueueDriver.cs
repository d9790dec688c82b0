using System.Threading;

namespace Datapath.Drivers.Virtio;

/// <summary>
/// The driver side of a packed virtqueue (virtio 1.2 §2.8): we own the ring, write available
/// descriptors into it and read used descriptors back from the same slots. Same shape as
/// <see cref="SplitVirtqueueDriver"/> so a PMD chooses the format once at start.
/// Single-threaded: one lcore per queue. No allocation and no exceptions after construction.
///
/// Buffer ids, chain lengths, cookies and the free-id list live in private arrays; from the ring
/// we only read a used descriptor's flags, id and len, each once, and check them before use. A
/// hostile device can get its own completions dropped, never a buffer freed twice.
/// </summary>
public sealed unsafe partial class PackedVirtqueueDriver
{
    readonly PackedRing _ring;
    readonly int _size;
    readonly bool _eventIdx;
    readonly bool _inOrder;

    // Per buffer id, between its add and its use (see OutstandingBuffer).
    readonly OutstandingBuffer[] _buffers;
    // Out of order: a stack of free ids. In order, ids are handed out sequentially instead.
    readonly ushort[] _freeIds;
    int _freeIdCount;
    ushort _oldestId;          // in order: the oldest outstanding id (§2.8.8)
    int _batchSkip;            // in order: slots of a batch already reclaimed, not yet skipped

    int _outstanding;          // buffers made available and not yet used
    int _inRing;               // slots between _nextUsed and _nextAvail
    int _nextAvail;            // next slot to write (§2.8.21.1)
    bool _availWrap;           // Driver Ring Wrap Counter, starts at 1 (§2.8.1)
    int _nextUsed;             // next slot to poll for a used descriptor (§2.8.22)
    bool _usedWrap;            // wrap counter of the lap _nextUsed is in
    int _addedSinceKick;       // slots made available since the last NeedsNotify
    // The first head written since the last Publish: its flags are stored last (§2.8.21.1).
    int _pendingHead;
    ushort _pendingHeadFlags;
    PackedDriverErrors _errors;

    public PackedVirtqueueDriver(PackedRing ring, bool eventIdx = false, bool inOrder = false)
    {
        _ring = ring;
        _size = ring.Size;
        _eventIdx = eventIdx;
        _inOrder = inOrder;
        _buffers = new OutstandingBuffer[_size];
        _freeIds = new ushort[_size];
        Reset();
    }

    /// <summary>
    /// The state of a new ring (§2.8.13: descriptors zeroed, both wrap counters 1, every id free); the
    /// constructor starts here too. The caller has taken back whatever the ids held. Error counters are kept. For a
    /// front-end whose back-end restarted: a packed ring used out of order cannot be resumed exactly
    /// (used descriptors overwrite the slots of buffers still in flight), so it starts again, as DPDK's
    /// virtio-user does.
    /// </summary>
    public void Reset()
    {
        Array.Clear(_buffers);
        for (int i = 0; i < _size; i++) _freeIds[i] = (ushort)(_size - 1 - i); // pop 0 first
        _freeIdCount = _size;
        _oldestId = 0;
        _batchSkip = 0;
        _outstanding = 0;
        _inRing = 0;
        _nextAvail = 0;
        _availWrap = true;
        _nextUsed = 0;
        _usedWrap = true;
        _addedSinceKick = 0;
        _pendingHead = -1;
        // §2.8.13: the descriptor ring is zero-initialized; both event areas start as ENABLE.
        new Span<byte>(_ring.Desc, PackedDescriptor.Size * _size).Clear();
        *(uint*)_ring.DriverEvent = 0;
        *(uint*)_ring.DeviceEvent = 0;
        PublishUsedCursor();
    }

    public int Size => _size;
    /// <summary>Ring slots free for new descriptors.</summary>
    public int FreeDescriptors => _size - _inRing;
    public int Outstanding => _outstanding;
    public ref readonly PackedDriverErrors Errors => ref _errors;

    /// <summary>
    /// Writes a chain into the next free slots under a fresh buffer id (§2.8.21.1) — not visible
    /// to the device until <see cref="Publish"/>. Device-readable elements must come first
    /// (§2.8.17). False (nothing changed) if the chain is empty, out of order, or does not fit.
    /// </summary>
    public bool TryAdd(ReadOnlySpan<VirtqBuffer> chain, nint cookie, out ushort id)
    {
        id = 0;
        if (chain.Length == 0 || chain.Length > _size - _inRing || _outstanding == _size) return false;
        if (!TryMeasure(chain, out uint writable)) return false;

        id = AllocateId();
        int head = _nextAvail;
        ushort headFlags = 0;
        for (int i = 0; i < chain.Length; i++)
        {
            ref readonly var b = ref chain[i];
            // Per slot: a chain that crosses the ring's end carries the next lap's bits after it (§2.8.1).
            ushort flags = AvailBits;
            if (b.DeviceWritable) flags |= PackedDescriptor.FlagWrite;
            if (i != chain.Length - 1) flags |= PackedDescriptor.FlagNext;
            PackedDescriptor* d = _ring.Desc + _nextAvail;
            d->Addr = b.Iova;
            // Stored only when they change (in order, a slot comes back with the same len and id):
            // fewer stores queue behind the missing ones in the store buffer.
            if (d->Len != b.Length) d->Len = b.Length;
            if (d->Id != id) d->Id = id; // §2.8.6 needs it in the last descriptor; every descriptor carries it
            if (i == 0) headFlags = flags;
            else d->Flags = flags;
            StepAvail();
        }
        Commit(id, head, headFlags, chain.Length, writable, cookie);
        return true;
    }

    /// <summary>
    /// <see cref="TryAdd"/> for a chain of one buffer (a transmitted frame with its header in front, a
    /// receive buffer): one slot written, without the walk over a chain and its checks.
    /// </summary>
    public bool TryAddOne(VirtqBuffer b, nint cookie, out ushort id)
    {
        id = 0;
        if (_inRing == _size || _outstanding == _size) return false;
        id = AllocateId();
        int head = _nextAvail;
        PackedDescriptor* d = _ring.Desc + head;
        d->Addr = b.Iova;
        // As in TryAdd: in order, a slot comes back with the same len and id; a store skipped is one
        // fewer waiting behind the missing ones.
        if (d->Len != b.Length) d->Len = b.Length;
        if (d->Id != id) d->Id = id;
        ushort flags = AvailBits;
        if (b.DeviceWritable) flags |= PackedDescriptor.FlagWrite;
        StepAvail();
        Commit(id, head, flags, 1, b.DeviceWritable ? b.Length : 0, cookie);
        return true;
    }

    /// <summary>
    /// Like <see cref="TryAdd"/>, but the chain goes into <paramref name="table"/> (the caller's
    /// memory, reachable by the device at <paramref name="tableIova"/>, untouched until the buffer
    /// is used) and takes one ring slot flagged INDIRECT (§2.8.7; needs VIRTIO_F_INDIRECT_DESC).
    /// </summary>
    public bool TryAddIndirect(ReadOnlySpan<VirtqBuffer> chain, PackedDescriptor* table, ulong tableIova, nint cookie, out ushort id)
    {
        id = 0;
        // §2.8.5: without a device limit, a list holds at most queue-size descriptors.
        if (chain.Length == 0 || chain.Length > _size || _inRing == _size || _outstanding == _size) return false;
        if (!TryMeasure(chain, out uint writable)) return false;

        for (int i = 0; i < chain.Length; i++)
        {
            // §2.8.19: WRITE is the only flag allowed inside an indirect table; the id is ignored.
            table[i] = new PackedDescriptor
            {
                Addr = chain[i].Iova,
                Len = chain[i].Length,
                Flags = chain[i].DeviceWritable ? PackedDescriptor.FlagWrite : (ushort)0,
            };
        }
        id = AllocateId();
        int head = _nextAvail;
        ushort flags = (ushort)(AvailBits | PackedDescriptor.FlagIndirect);
        PackedDescriptor* d = _ring.Desc + head;
        d->Addr = tableIova;
        d->Len = (uint)(chain.Length * PackedDescriptor.Size);
        d->Id = id;
        StepAvail();
        Commit(id, head, flags, 1, writable, cookie);
        return true;
    }

    static bool TryMeasure(ReadOnlySpan<VirtqBuffer> chain, out uint writable)
    {
        ulong total = 0;
        bool sawWritable = false;
        foreach (ref readonly var b in chain)
        {
            if (!b.DeviceWritable && sawWritable) { writable = 0; return false; }
            sawWritable |= b.DeviceWritable;
            if (b.DeviceWritable) total += b.Length;
        }
        writable = (uint)Math.Min(total, uint.MaxValue);
        return total <= uint.MaxValue;
    }

    ushort AllocateId()
    {
        if (!_inOrder) return _freeIds[--_freeIdCount];
        // §2.8.8: buffers are used in the order they were made available, so ids handed out in
        // sequence stay a contiguous window [oldest, oldest + outstanding) — batch sizes follow.
        int id = _oldestId + _outstanding;
        return (ushort)(id >= _size ? id - _size : id);
    }

    /// <summary>AVAIL = wrap, USED = !wrap (§2.8.1).</summary>
    static ushort AvailBitsOf(bool wrap) => wrap ? PackedDescriptor.FlagAvail : PackedDescriptor.FlagUsed;
    ushort AvailBits => AvailBitsOf(_availWrap);

    void StepAvail()
    {
        // §2.8.1: the driver flips its wrap counter after making the last slot available.
        if (++_nextAvail == _size) { _nextAvail = 0; _availWrap = !_availWrap; }
    }

    void Commit(ushort id, int head, ushort headFlags, int slots, uint writable, nint cookie)
    {
        if (_pendingHead < 0)
        {
            // The first head since Publish: its flags wait, so the device sees nothing of this batch yet.
            _pendingHead = head;
            _pendingHeadFlags = headFlags;
        }
        else
        {
            // The device polls slots in order (§2.8.2) and cannot get past the pending head, so a
            // plain store is enough here; Publish's release store orders it.
            _ring.Desc[head].Flags = headFlags;
        }
        _buffers[id] = new OutstandingBuffer(cookie, writable, slots);
        _outstanding++;
        _inRing += slots;
        _addedSinceKick += slots;
    }

    /// <summary>
    /// Makes every chain added since the last call visible to the device: the flags of the batch's
    /// first head are stored last, with release semantics (§2.8.21.1.1 "Updating flags"), after
    /// every other descriptor field of the batch.
    /// </summary>
    public void Publish()
    {
        if (_pendingHead < 0) return;
        Volatile.Write(ref _ring.Desc[_pendingHead].Flags, _pendingHeadFlags);
        _pendingHead = -1;
    }

    /// <summary>
    /// After <see cref="Publish"/>: should we notify the device (§2.8.21.2)? Reads the Device Event
    /// Suppression structure (§2.8.10, §2.8.14): DISABLE → no; DESC (with EVENT_IDX) → yes if the
    /// slot it names was made available since the last decision; otherwise yes.
    /// </summary>
    public bool NeedsNotify()
    {
        // §2.8.21.3.1: a full barrier (store → load) between our flags store and the read of the
        // device's structure, or both sides can miss each other's update and the device sleeps.
        Interlocked.MemoryBarrier();
        int moved = _addedSinceKick;
        _addedSinceKick = 0;
        return PackedEventSuppression.ShouldNotify(PackedRing.Snapshot(_ring.DeviceEvent), _eventIdx, _size,
            (ushort)_nextAvail, _availWrap, moved);
    }
}
