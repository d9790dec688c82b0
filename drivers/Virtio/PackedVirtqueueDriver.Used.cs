using System.Threading;

namespace Datapath.Drivers.Virtio;

// Driver side of a packed virtqueue, used half: event suppression for used buffers and reclaiming.
public sealed unsafe partial class PackedVirtqueueDriver
{
    /// <summary>Asks the device not to send used buffer notifications (§2.8.10, §2.8.22): a hint.</summary>
    public void DisableUsedNotifications()
        => Volatile.Write(ref _ring.DriverEvent->Flags, PackedEventSuppression.Disable);

    /// <summary>
    /// Asks for a notification at the next used buffer (§2.8.22): with EVENT_IDX, RING_EVENT_FLAGS_DESC
    /// naming the slot we poll next (§2.8.14); otherwise ENABLE. Returns true if a used descriptor is
    /// already there: the caller should poll again instead of sleeping.
    /// </summary>
    public bool EnableUsedNotifications()
    {
        if (_eventIdx)
        {
            // off_wrap before flags: the device must not act on DESC with a stale offset.
            Volatile.Write(ref _ring.DriverEvent->OffWrap, PackedEventSuppression.OffWrapOf(_nextUsed, _usedWrap));
            Volatile.Write(ref _ring.DriverEvent->Flags, PackedEventSuppression.Desc);
        }
        else Volatile.Write(ref _ring.DriverEvent->Flags, PackedEventSuppression.Enable);
        // Store → load: the device may have used a buffer before it could see our request.
        Interlocked.MemoryBarrier();
        return PackedDescriptor.IsUsed(Volatile.Read(ref _ring.Desc[_nextUsed].Flags), _usedWrap);
    }

    /// <summary>
    /// Reclaims buffers the device has used (§2.8.22) into <paramref name="done"/>; returns how many.
    /// Hostile values are counted in <see cref="Errors"/> and skipped.
    /// </summary>
    public int PollUsed(Span<VirtqCompletion> done)
    {
        int n = 0;
        while (n < done.Length)
        {
            PackedDescriptor* d = _ring.Desc + _nextUsed;
            // Acquire: id and len are read after the flags that published them (§2.8.22).
            ushort flags = Volatile.Read(ref d->Flags);
            if (!PackedDescriptor.IsUsed(flags, _usedWrap)) break;
            if (_outstanding == 0 || _inRing == 0)
            {
                // Nothing of ours is in the ring: this "used" slot is forged. Consume nothing.
                _errors.UsedWithoutOutstanding++;
                break;
            }
            ushort id = Volatile.Read(ref d->Id);
            // §2.8.4 has the device flag WRITE on a used descriptor whose len counts; QEMU's own
            // virtio devices never set it (hw/virtio/virtio.c, virtqueue_packed_fill_desc). As Linux
            // does, len is read whatever the flags say, and counts only for a buffer that had
            // device-writable space (Reclaim), bounded by that space.
            uint len = Volatile.Read(ref d->Len);
            int skip = _inOrder ? CompleteInOrder(id, len, done, ref n) : CompleteOne(id, len, done, ref n);
            if (skip == 0) break; // an in-order batch continues on the next call
            // Never step past slots we made available: a lying device cannot make us reuse more.
            skip = Math.Min(skip, _inRing);
            _inRing -= skip;
            _nextUsed += skip;
            if (_nextUsed >= _size) { _nextUsed -= _size; _usedWrap = !_usedWrap; }
        }
        if (n > 0) PublishUsedCursor();
        return n;
    }

    /// <summary>One used descriptor per buffer: skip the buffer's slots (§2.8.6).</summary>
    int CompleteOne(ushort id, uint len, Span<VirtqCompletion> done, ref int n)
    {
        if (id >= _size) { _errors.UsedIdOutOfRange++; return 1; }
        int slots = _buffers[id].Slots;
        if (slots == 0) { _errors.UsedIdNotOutstanding++; return 1; }
        done[n++] = Reclaim(id, len);
        _freeIds[_freeIdCount++] = id;
        return slots;
    }

    /// <summary>
    /// §2.8.8: in order, one used descriptor with the id of a batch's last buffer completes every
    /// buffer from the oldest up to it; the skipped ones "are assumed to have been used (read or
    /// written) by the device completely" and report their writable bytes. The driver skips the
    /// slots of the whole batch. A batch larger than <paramref name="done"/> is reclaimed across
    /// calls: the descriptor stays where it is and the skip accumulates until the batch is done.
    /// </summary>
    int CompleteInOrder(ushort id, uint len, Span<VirtqCompletion> done, ref int n)
    {
        if (id >= _size) { _errors.UsedIdOutOfRange++; return TakeBatchSkip(); }
        int offset = id - _oldestId;
        if (offset < 0) offset += _size;
        if (offset >= _outstanding) { _errors.UsedIdNotOutstanding++; return TakeBatchSkip(); }
        while (n < done.Length)
        {
            ushort h = _oldestId;
            _batchSkip += _buffers[h].Slots;
            done[n++] = Reclaim(h, h == id ? len : _buffers[h].WritableBytes);
            _oldestId = (ushort)(h + 1 == _size ? 0 : h + 1);
            if (h == id) return TakeBatchSkip();
        }
        return 0;
    }

    int TakeBatchSkip()
    {
        int s = Math.Max(_batchSkip, 1);
        _batchSkip = 0;
        return s;
    }

    VirtqCompletion Reclaim(ushort id, uint len)
    {
        ref OutstandingBuffer slot = ref _buffers[id];
        OutstandingBuffer b = slot;
        slot = default;
        if (b.WritableBytes == 0) len = 0;   // a device-readable buffer: len is reserved
        else if (len > b.WritableBytes) { _errors.UsedLengthTooLarge++; len = 0; }
        _outstanding--;
        return new VirtqCompletion { Cookie = b.Cookie, Id = id, Length = len };
    }
}
