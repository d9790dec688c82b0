using Datapath.Drivers.Virtio;

namespace Datapath.Tests.Drivers.Virtio;

/// <summary>
/// TryAddOne, the one-buffer add the virtio-net queues use for every rx buffer and most tx frames,
/// against TryAdd of a one-element chain: two rings driven through the same steps (random lengths,
/// offsets, readable and writable buffers, rings filled to the brim, used in order or not, laps that
/// wrap) must hold the same bytes after every step, and both devices and drivers must see the same.
/// </summary>
public unsafe class DriverAddOneTests
{
    const int Size = 16;

    /// <summary>One side: a ring with its driver and device, added to through <see cref="Add"/>.</summary>
    sealed class Side : IDisposable
    {
        readonly SplitRingFixture? _split;
        readonly PackedRingFixture? _packed;
        readonly SplitVirtqueueDriver? _splitDriver;
        readonly PackedVirtqueueDriver? _packedDriver;
        readonly SplitVirtqueueDevice? _splitDevice;
        readonly PackedVirtqueueDevice? _packedDevice;
        readonly bool _one;

        public Side(bool packed, bool inOrder, bool one)
        {
            _one = one;
            if (packed)
            {
                _packed = new PackedRingFixture(Size);
                _packedDriver = new PackedVirtqueueDriver(_packed.Ring, inOrder: inOrder);
                _packedDevice = new PackedVirtqueueDevice(_packed.Ring, _packed.Memory, inOrder: inOrder);
            }
            else
            {
                _split = new SplitRingFixture(Size);
                _splitDriver = new SplitVirtqueueDriver(_split.Ring, inOrder: inOrder);
                _splitDevice = new SplitVirtqueueDevice(_split.Ring, _split.Memory);
            }
        }

        public byte* Arena => _split is not null ? _split.Arena : _packed!.Arena;
        public byte[] Ring => (_split is not null ? _split.RingBytes : _packed!.RingBytes).ToArray();
        public int Free => _splitDriver?.FreeDescriptors ?? _packedDriver!.FreeDescriptors;

        public (bool, ushort) Add(VirtqBuffer b, nint cookie)
        {
            ushort id;
            bool ok = (_one, _splitDriver) switch
            {
                (true, { } s) => s.TryAddOne(b, cookie, out id),
                (false, { } s) => s.TryAdd([b], cookie, out id),
                (true, null) => _packedDriver!.TryAddOne(b, cookie, out id),
                (false, null) => _packedDriver!.TryAdd([b], cookie, out id),
            };
            return (ok, ok ? id : (ushort)0);
        }

        public void Publish()
        {
            _splitDriver?.Publish();
            _packedDriver?.Publish();
        }

        public VirtqPop Pop(Span<VirtqSegment> segs, out VirtqChain chain)
            => _splitDevice is { } d ? d.TryPop(segs, out chain) : _packedDevice!.TryPop(segs, out chain);

        public bool PushUsed(ushort id, uint len) => _splitDevice?.PushUsed(id, len) ?? _packedDevice!.PushUsed(id, len);

        public void PublishUsed()
        {
            _splitDevice?.PublishUsed();
            _packedDevice?.PublishUsed();
        }

        public int PollUsed(Span<VirtqCompletion> done) => _splitDriver?.PollUsed(done) ?? _packedDriver!.PollUsed(done);

        public ulong Errors => (_splitDriver?.Errors.Total ?? _packedDriver!.Errors.Total)
            + (_splitDevice?.Errors.Total ?? _packedDevice!.Errors.Total);

        public void Dispose()
        {
            _split?.Dispose();
            _packed?.Dispose();
        }
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    [InlineData(true, false)]
    public void One_buffer_adds_leave_the_ring_as_a_chain_of_one_does(bool packed, bool inOrder)
    {
        using var chainSide = new Side(packed, inOrder, one: false);
        using var oneSide = new Side(packed, inOrder, one: true);
        var rng = new Random(1234);
        var segs = new VirtqSegment[4];
        var popped = new List<(ushort Id, uint Writable)>();
        var doneA = new VirtqCompletion[Size];
        var doneB = new VirtqCompletion[Size];
        int cookie = 1, completions = 0;

        for (int step = 0; step < 200; step++)
        {
            // Mostly a few buffers; every tenth step, as many as fit and one more (refused by both).
            int want = step % 10 == 9 ? Size + 1 : rng.Next(1, 6);
            for (int j = 0; j < want; j++)
            {
                var b = new VirtqBuffer(SplitRingFixture.Iova(rng.Next(0, 64) * 256), (uint)rng.Next(1, 2000), rng.Next(2) == 0);
                var a = chainSide.Add(b, cookie);
                var o = oneSide.Add(b, cookie);
                Assert.Equal(a, o);
                cookie++;
            }
            chainSide.Publish();
            oneSide.Publish();
            Assert.Equal(chainSide.Ring, oneSide.Ring);
            Assert.Equal(chainSide.Free, oneSide.Free);

            // The devices take all there is and see the same buffers.
            popped.Clear();
            while (true)
            {
                var ra = chainSide.Pop(segs, out var ca);
                nint da = (nint)((byte*)segs[0].Data - chainSide.Arena);
                var rb = oneSide.Pop(segs, out var cb);
                Assert.Equal(ra, rb);
                if (ra != VirtqPop.Chain) break;
                Assert.Equal((ca.Id, ca.Segments, ca.ReadableBytes, ca.WritableBytes), (cb.Id, cb.Segments, cb.ReadableBytes, cb.WritableBytes));
                Assert.Equal(da, (nint)((byte*)segs[0].Data - oneSide.Arena));
                popped.Add((ca.Id, ca.WritableBytes));
            }
            // In order, or (when the ring allows it) the last taken first.
            if (!inOrder) popped.Reverse();
            foreach (var (id, writable) in popped)
            {
                Assert.True(chainSide.PushUsed(id, writable / 2));
                Assert.True(oneSide.PushUsed(id, writable / 2));
            }
            chainSide.PublishUsed();
            oneSide.PublishUsed();
            Assert.Equal(chainSide.Ring, oneSide.Ring);

            int n = chainSide.PollUsed(doneA);
            Assert.Equal(n, oneSide.PollUsed(doneB));
            for (int i = 0; i < n; i++)
                Assert.Equal((doneA[i].Cookie, doneA[i].Id, doneA[i].Length), (doneB[i].Cookie, doneB[i].Id, doneB[i].Length));
            completions += n;
        }
        Assert.True(completions > 10 * Size, $"{completions} completions: the rings did not lap");
        Assert.Equal(0ul, chainSide.Errors + oneSide.Errors);
    }
}
