using System.Threading;

namespace Datapath.Drivers.Virtio;

/// <summary>
/// The driver side of a split virtqueue (virtio 1.2 §2.7): we own the rings, add buffer chains to the
/// available ring and reclaim them from the used ring. Used by the virtio-user and virtio-pci PMDs.
/// Single-threaded: one lcore per queue. No allocation and no exceptions after construction.
///
/// Every value the device writes (used idx, used id, used len) is checked before use; our own
/// bookkeeping (free list, chain lengths) lives in private arrays the device cannot touch, so a
/// hostile device can at worst get its own completions dropped, never corrupt the free list.
/// </summary>
public sealed unsafe class SplitVirtqueueDriver
{
    readonly SplitRing _ring;
    readonly int _size;
    readonly int _mask;
    readonly bool _eventIdx;
    readonly bool _inOrder;

    // Private shadow of the descriptor `next` links: the free list and chain walks read these,
    // never the shared table.
    readonly ushort[] _next;
    // Per head id: descriptors in the chain (0 = not outstanding), device-writable bytes, caller cookie.
    readonly ushort[] _chainLength;
    readonly uint[] _writableBytes;
    readonly nint[] _cookie;

    ushort _freeHead;
    int _freeCount;
    int _outstanding;          // buffers (chains) made available and not yet used
    ushort _availIdx;          // next avail->idx to publish (§2.7.6)
    ushort _availAtLastKick;   // avail->idx when we last decided about notifying (§2.7.10)
    ushort _lastUsed;          // next used ring position to read (§2.7.8)
    ushort _inOrderOldest;     // in-order: head of the oldest outstanding chain (§2.7.9)
    SplitDriverErrors _errors;

    public SplitVirtqueueDriver(SplitRing ring, bool eventIdx = false, bool inOrder = false)
    {
        _ring = ring;
        _size = ring.Size;
        _mask = ring.Size - 1;
        _eventIdx = eventIdx;
        _inOrder = inOrder;
        _next = new ushort[_size];
        _chainLength = new ushort[_size];
        _writableBytes = new uint[_size];
        _cookie = new nint[_size];
        // One circular free list 0 → 1 → … → n-1 → 0. Out of order, frees relink it; in order
        // (§2.7.9: "driver uses descriptors in ring order … wrapping around"), it never changes.
        for (int i = 0; i < _size; i++) _next[i] = (ushort)((i + 1) & _mask);
        _freeCount = _size;
        new Span<byte>(ring.Desc, SplitRingLayout.DescriptorTableBytes(_size)).Clear();
        new Span<byte>(ring.Avail, SplitRingLayout.AvailRingBytes(_size)).Clear();
        new Span<byte>(ring.Used, SplitRingLayout.UsedRingBytes(_size)).Clear();
    }

    public int Size => _size;
    public int FreeDescriptors => _freeCount;
    public int Outstanding => _outstanding;
    public ref readonly SplitDriverErrors Errors => ref _errors;

    /// <summary>
    /// Writes a chain into free descriptors and puts its head in the available ring — not yet
    /// visible to the device until <see cref="Publish"/>. Device-readable elements must come first
    /// (§2.7.4.2). False (nothing changed) if the chain is empty, out of order, or does not fit.
    /// </summary>
    public bool TryAdd(ReadOnlySpan<VirtqBuffer> chain, nint cookie, out ushort head)
    {
        head = _freeHead;
        if (chain.Length == 0 || chain.Length > _freeCount) return false;
        ulong writable = 0;
        bool sawWritable = false;
        foreach (ref readonly var b in chain)
        {
            if (!b.DeviceWritable && sawWritable) return false;
            sawWritable |= b.DeviceWritable;
            if (b.DeviceWritable) writable += b.Length;
        }
        if (writable > uint.MaxValue) return false;

        ushort d = _freeHead;
        for (int i = 0; i < chain.Length; i++)
        {
            ref readonly var b = ref chain[i];
            ushort flags = b.DeviceWritable ? VirtqDescriptor.FlagWrite : (ushort)0;
            bool last = i == chain.Length - 1;
            if (!last) flags |= VirtqDescriptor.FlagNext;
            VirtqDescriptor* p = _ring.Desc + d;
            ushort next = last ? (ushort)0 : _next[d];
            // Fields that already hold their value are not stored again (DPDK does the same for
            // avail->ring): in order, a slot comes back with the same len, flags and next, and
            // fewer stores wait behind the missing ones in the store buffer. A receive ring refilled
            // from the burst it just freed gets the same buffer too (PacketPool hands a burst back in
            // the order it was freed): then no field changes, and the device's copy of the line stays valid.
            if (p->Addr != b.Iova) p->Addr = b.Iova;
            if (p->Len != b.Length) p->Len = b.Length;
            if (p->Flags != flags) p->Flags = flags;
            if (p->Next != next) p->Next = next;
            d = _next[d];
        }
        Commit(head, d, chain.Length, (uint)writable, cookie);
        return true;
    }

    /// <summary><see cref="TryAdd"/> for a chain of one buffer: one descriptor, without the walk over a chain.</summary>
    public bool TryAddOne(VirtqBuffer b, nint cookie, out ushort head)
    {
        head = _freeHead;
        if (_freeCount == 0) return false;
        ushort flags = b.DeviceWritable ? VirtqDescriptor.FlagWrite : (ushort)0;
        VirtqDescriptor* p = _ring.Desc + head;
        // Stored only when changed, as in TryAdd; a lone descriptor's next is 0.
        if (p->Addr != b.Iova) p->Addr = b.Iova;
        if (p->Len != b.Length) p->Len = b.Length;
        if (p->Flags != flags) p->Flags = flags;
        if (p->Next != 0) p->Next = 0;
        Commit(head, _next[head], 1, b.DeviceWritable ? b.Length : 0, cookie);
        return true;
    }

    /// <summary>A chain written from <paramref name="head"/>: its bookkeeping, and its head into the available ring.</summary>
    void Commit(ushort head, ushort nextFree, int descriptors, uint writable, nint cookie)
    {
        _freeHead = nextFree;
        _freeCount -= descriptors;
        _chainLength[head] = (ushort)descriptors;
        _writableBytes[head] = writable;
        _cookie[head] = cookie;
        // In order, the entry already holds this head from the last lap: leaving it alone keeps the
        // line clean in the device's cache, so its read does not fetch the line from ours.
        ref ushort entry = ref _ring.AvailRing[_availIdx & _mask];
        if (entry != head) entry = head;
        _availIdx++;
        _outstanding++;
    }

    /// <summary>
    /// Makes every chain added since the last call visible to the device (§2.7.13.3). The release
    /// store orders the descriptor and avail->ring writes before the new idx: a device that reads
    /// the idx must not see stale descriptors. On x86 stores are not reordered with stores, but the
    /// JIT could sink the ring writes below a plain store.
    /// </summary>
    public void Publish() => Volatile.Write(ref *_ring.AvailIdx, _availIdx);

    /// <summary>
    /// After <see cref="Publish"/>: should we notify the device (§2.7.10, §2.7.13.4)? With EVENT_IDX,
    /// yes if avail->idx moved past used->avail_event since the last decision; otherwise unless
    /// used->flags has VIRTQ_USED_F_NO_NOTIFY.
    /// </summary>
    public bool NeedsNotify()
    {
        // Full fence (store → load): our idx store must be visible before we read the device's
        // suppression field, or the device may go to sleep having seen the old idx while we read
        // its old "don't notify" — and nobody wakes it. TSO allows exactly this store/load reorder.
        Interlocked.MemoryBarrier();
        ushort old = _availAtLastKick;
        _availAtLastKick = _availIdx;
        if (_eventIdx) return VirtqEvent.NeedEvent(Volatile.Read(ref *_ring.AvailEvent), _availIdx, old);
        return (Volatile.Read(ref *_ring.UsedFlags) & SplitRing.UsedFlagNoNotify) == 0;
    }

    /// <summary>Asks the device not to interrupt us (§2.7.7): a hint, the device may still do so.</summary>
    public void DisableUsedNotifications()
    {
        if (!_eventIdx) Volatile.Write(ref *_ring.AvailFlags, SplitRing.AvailFlagNoInterrupt);
        // With EVENT_IDX the flags are ignored; leaving used_event behind has the same effect.
    }

    /// <summary>
    /// Asks for an interrupt at the next used buffer (§2.7.7). Returns true if used buffers are
    /// already pending: the caller should poll again instead of sleeping.
    /// </summary>
    public bool EnableUsedNotifications()
    {
        if (_eventIdx) Volatile.Write(ref *_ring.UsedEvent, _lastUsed);
        else Volatile.Write(ref *_ring.AvailFlags, 0);
        // Store → load again: the device may have used a buffer before it could see our request.
        Interlocked.MemoryBarrier();
        return Volatile.Read(ref *_ring.UsedIdx) != _lastUsed;
    }

    /// <summary>
    /// Reclaims chains the device has used (§2.7.8, §2.7.14) into <paramref name="done"/>; returns
    /// how many. Hostile values are counted in <see cref="Errors"/> and skipped.
    /// </summary>
    public int PollUsed(Span<VirtqCompletion> done)
    {
        // Acquire: the used elements the device wrote before bumping idx are read after it.
        ushort usedIdx = Volatile.Read(ref *_ring.UsedIdx);
        int pending = (ushort)(usedIdx - _lastUsed);
        if (pending == 0) return 0;
        // Chains of a half-reclaimed in-order batch still hold their used slots.
        if (pending > _outstanding + _batchTaken)
        {
            // The device claims more completions than there are buffers: nothing behind it is
            // trustworthy. Consume nothing; the owner sees the counter and resets the device.
            _errors.UsedIndexJump++;
            return 0;
        }

        int n = 0;
        if (_inOrder && _batchTaken == 0)
        {
            // §2.7.9: in order, used->idx alone says how many of the oldest chains are done. A
            // device-readable chain (tx) has nothing to learn from its used element (len is only
            // for writable buffers), so it is reclaimed without reading the ring (DPDK's
            // virtio_xmit_cleanup_inorder): no load of a line the device is writing.
            while (pending > 0 && n < done.Length && _writableBytes[_inOrderOldest] == 0)
            {
                done[n++] = Reclaim(_inOrderOldest, 0);
                _lastUsed++;
                pending--;
            }
        }
        while (pending > 0 && n < done.Length)
        {
            VirtqUsedElement* slot = _ring.UsedRing + (_lastUsed & _mask);
            // Read each field once; the device may rewrite the slot while we look at it.
            uint id = Volatile.Read(ref slot->Id);
            uint len = Volatile.Read(ref slot->Len);
            int consumed = _inOrder ? CompleteInOrder(id, len, pending, done, ref n) : CompleteOne(id, len, done, ref n);
            if (consumed == 0) break; // an in-order batch that does not fit in `done`: next call
            _lastUsed += (ushort)consumed;
            pending -= consumed;
        }
        return n;
    }

    int CompleteOne(uint id, uint len, Span<VirtqCompletion> done, ref int n)
    {
        if (id >= (uint)_size) { _errors.UsedIdOutOfRange++; return 1; }
        if (_chainLength[id] == 0) { _errors.UsedIdNotOutstanding++; return 1; }
        done[n++] = Reclaim((ushort)id, len);
        return 1;
    }

    /// <summary>
    /// §2.7.9: in order, the device may write one used element for a batch — the id of the batch's
    /// last chain — and advance used->idx by the batch size. Every chain from the oldest up to that
    /// id is complete; the earlier ones "are assumed to have been used completely" and report their
    /// writable bytes. A batch larger than <paramref name="done"/> is reclaimed across calls: the
    /// element stays where it is until its last chain is taken, then all its used slots are consumed.
    /// </summary>
    int CompleteInOrder(uint id, uint len, int pending, Span<VirtqCompletion> done, ref int n)
    {
        if (id >= (uint)_size) { _errors.UsedIdOutOfRange++; return TakeBatch(); }
        if (_chainLength[id] == 0) { _errors.UsedIdNotOutstanding++; return TakeBatch(); }
        // Count the chains from the oldest to id: all outstanding heads lie on that path.
        int batch = 1;
        for (ushort h = _inOrderOldest; h != id && batch <= _outstanding; h = (ushort)((h + _chainLength[h]) & _mask)) batch++;
        if (_batchTaken + batch > pending) { _errors.InOrderBatchOverrun++; return TakeBatch(); }
        while (n < done.Length)
        {
            ushort h = _inOrderOldest;
            bool last = h == id;
            done[n++] = Reclaim(h, last ? len : _writableBytes[h]);
            _batchTaken++;
            if (last) return TakeBatch();
        }
        return 0;
    }

    int _batchTaken;   // chains of the current in-order batch already reclaimed

    int TakeBatch()
    {
        int consumed = Math.Max(_batchTaken, 1);
        _batchTaken = 0;
        return consumed;
    }

    VirtqCompletion Reclaim(ushort head, uint len)
    {
        if (len > _writableBytes[head]) { _errors.UsedLengthTooLarge++; len = 0; }
        int count = _chainLength[head];
        if (_inOrder)
        {
            // Descriptors are freed in ring order: the free run simply grows (§2.7.9).
            _inOrderOldest = (ushort)((head + count) & _mask);
        }
        else
        {
            ushort tail = head;
            for (int i = 1; i < count; i++) tail = _next[tail];
            _next[tail] = _freeHead;
            _freeHead = head;
        }
        _freeCount += count;
        _chainLength[head] = 0;
        _outstanding--;
        var c = new VirtqCompletion { Cookie = _cookie[head], Id = head, Length = len };
        _cookie[head] = 0;
        return c;
    }
}
