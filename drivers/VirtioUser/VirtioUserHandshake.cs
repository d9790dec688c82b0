using Datapath.Drivers.VirtioNet;
using Datapath.Drivers.VhostUser;
using Datapath.Drivers.Virtio;
using Datapath.Hugepages;

namespace Datapath.Drivers.VirtioUser;

/// <summary>
/// The front-end steps of vhost-user.rst ("Communication", "Starting and stopping rings"), one
/// method per step, in the order DPDK's virtio-user and QEMU send them.
/// </summary>
public static class VirtioUserHandshake
{
    /// <summary>Protocol features we use: MQ (GET_QUEUE_NUM, per-ring enable), REPLY_ACK, CONFIGURE_MEM_SLOTS.</summary>
    public const VhostUserProtocolFeatures Supported =
        VhostUserProtocolFeatures.Mq | VhostUserProtocolFeatures.ReplyAck | VhostUserProtocolFeatures.ConfigureMemSlots;

    /// <summary>
    /// SET_OWNER, GET_FEATURES, and GET/SET_PROTOCOL_FEATURES when the backend speaks them; checks
    /// the backend can carry <paramref name="pairs"/> queue pairs. Returns the offered features.
    /// </summary>
    public static ulong Negotiate(VhostUserFrontend frontend, VirtioUserArgs args, int pairs, out bool protocolFeatures)
    {
        frontend.SetOwner();
        ulong offered = frontend.GetU64(VhostUserRequest.GetFeatures);
        protocolFeatures = (offered & VhostUserFeatureBits.ProtocolFeatures) != 0;
        var protocol = VhostUserProtocolFeatures.None;
        if (protocolFeatures)
        {
            protocol = (VhostUserProtocolFeatures)frontend.GetU64(VhostUserRequest.GetProtocolFeatures) & Supported;
            // REPLY_ACK applies only once negotiated: this request itself gets no ack.
            frontend.SetU64(VhostUserRequest.SetProtocolFeatures, (ulong)protocol);
            frontend.ReplyAck = protocol.HasFlag(VhostUserProtocolFeatures.ReplyAck);
            frontend.MemSlots = protocol.HasFlag(VhostUserProtocolFeatures.ConfigureMemSlots);
        }
        if (pairs > 1)
        {
            if (!protocol.HasFlag(VhostUserProtocolFeatures.Mq) || (offered & VirtioFeatures.NetMq) == 0)
                throw new VhostUserProtocolException($"queues={pairs} needs a backend with multiqueue (VIRTIO_NET_F_MQ and protocol feature MQ); start it with queues={pairs}");
            ulong max = frontend.GetU64(VhostUserRequest.GetQueueNum);
            if (max < (ulong)pairs)
                throw new VhostUserProtocolException($"queues={pairs}, but the backend takes at most {max} queue pairs");
        }
        return offered;
    }

    /// <summary>What we ask of what is offered; a modern (VERSION_1) backend is required (12-byte header, LE rings).</summary>
    public static ulong ChooseFeatures(ulong offered, ulong wanted)
    {
        if ((offered & VirtioFeatures.Version1) == 0)
            throw new VhostUserProtocolException($"backend does not offer VIRTIO_F_VERSION_1 (features 0x{offered:x}): legacy devices are not supported");
        return offered & wanted;
    }

    /// <summary>
    /// SET_MEM_TABLE (vhost-user.rst, "Memory regions"): each region is one fd-backed mapping; its
    /// guest address is our virtual address, so descriptors and SET_VRING_ADDR carry plain pointers.
    /// </summary>
    public static unsafe void SendMemoryTable(VhostUserFrontend frontend, IReadOnlyList<HugepageRegion> regions)
    {
        if (frontend.MemSlots)
        {
            // CONFIGURE_MEM_SLOTS (vhost-user.rst "Memory region slots"): one ADD_MEM_REG per region,
            // up to what GET_MAX_MEM_SLOTS allows, instead of one table of at most 8.
            ulong slots = frontend.GetU64(VhostUserRequest.GetMaxMemSlots);
            if ((ulong)regions.Count > slots)
                throw new VhostUserProtocolException($"{regions.Count} memory regions, the backend has {slots} slots");
            foreach (var r in regions)
                frontend.AddMemReg(Describe(r), r.Fd);
            return;
        }
        if (regions.Count > VhostUserLimits.MaxMemTableRegions)
            throw new VhostUserProtocolException($"{regions.Count} memory regions, SET_MEM_TABLE carries {VhostUserLimits.MaxMemTableRegions}");
        Span<MemoryRegionDescription> table = stackalloc MemoryRegionDescription[regions.Count];
        Span<int> fds = stackalloc int[regions.Count];
        for (int i = 0; i < regions.Count; i++)
        {
            table[i] = Describe(regions[i]);
            fds[i] = regions[i].Fd;
        }
        frontend.SetMemTable(table, fds);
    }

    static unsafe MemoryRegionDescription Describe(HugepageRegion r) => new()
    {
        GuestPhysAddr = (ulong)r.Base,
        MemorySize = r.Length,
        UserspaceAddr = (ulong)r.Base,
        MmapOffset = r.FdOffset,
    };

    /// <summary>
    /// One ring: SET_VRING_CALL, NUM, BASE, ADDR, KICK. BASE is where the backend resumes
    /// (0 on a fresh ring, used->idx after a backend restart).
    /// </summary>
    public static void SetUpVring(VhostUserFrontend frontend, VirtioNetQueue q)
    {
        frontend.SetVringFd(VhostUserRequest.SetVringCall, q.VringIndex, q.CallFd);
        frontend.SetVringState(VhostUserRequest.SetVringNum, q.VringIndex, (uint)q.Size);
        frontend.SetVringState(VhostUserRequest.SetVringBase, q.VringIndex, q.ResumeBase());
        frontend.SetVringAddr(new VringAddress
        {
            Index = q.VringIndex,
            DescUserAddr = q.DescAddress,
            AvailUserAddr = q.AvailAddress,
            UsedUserAddr = q.UsedAddress,
        });
        frontend.SetVringFd(VhostUserRequest.SetVringKick, q.VringIndex, q.KickFd);
    }
}
