using System.Runtime.InteropServices;
using Datapath.Drivers.VhostUser;

namespace Datapath.Drivers.VirtioUser;

/// <summary>
/// The front-end half of the vhost-user conversation (vhost-user.rst, "Communication"): requests
/// that expect a reply wait for it (bounded: a backend that stops answering is a dead backend), and
/// once REPLY_ACK is negotiated every other request asks for an ack and checks it is 0.
/// </summary>
public sealed class VhostUserFrontend : IDisposable
{
    /// <summary>How long a reply may take before we call the backend dead.</summary>
    const int ReplyTimeoutMs = 5000;

    readonly VhostUserChannel _channel;
    readonly VhostUserMessage _reply = new();

    public VhostUserFrontend(VhostUserChannel channel) => _channel = channel;

    public VhostUserChannel Channel => _channel;

    /// <summary>Set once REPLY_ACK is negotiated (vhost-user.rst, "REPLY_ACK").</summary>
    public bool ReplyAck { get; set; }

    /// <summary>CONFIGURE_MEM_SLOTS negotiated: memory goes as ADD_MEM_REG, one region at a time.</summary>
    public bool MemSlots { get; set; }

    /// <summary>GET_FEATURES, GET_PROTOCOL_FEATURES, GET_QUEUE_NUM, GET_MAX_MEM_SLOTS: no payload, a u64 back.</summary>
    public ulong GetU64(VhostUserRequest request)
    {
        _channel.SendEmpty(request);
        return WaitReply(request).ReadU64();
    }

    /// <summary>SET_FEATURES, SET_PROTOCOL_FEATURES: a u64. SET_PROTOCOL_FEATURES is sent before REPLY_ACK applies.</summary>
    public void SetU64(VhostUserRequest request, ulong value) => SendChecked(request, value);

    public void SetOwner()
    {
        _channel.SendEmpty(VhostUserRequest.SetOwner, ReplyAck);
        if (ReplyAck) CheckAck(VhostUserRequest.SetOwner);
    }

    /// <summary>SET_VRING_NUM / SET_VRING_BASE / SET_VRING_ENABLE.</summary>
    public void SetVringState(VhostUserRequest request, uint index, uint num) =>
        SendChecked(request, new VringState { Index = index, Num = num });

    /// <summary>GET_VRING_BASE: stops the ring on the backend and returns where it stopped.</summary>
    public uint GetVringBase(uint index)
    {
        _channel.Send(VhostUserRequest.GetVringBase, new VringState { Index = index });
        var state = WaitReply(VhostUserRequest.GetVringBase).Read<VringState>();
        return state.Num;
    }

    public void SetVringAddr(in VringAddress address) => SendChecked(VhostUserRequest.SetVringAddr, address);

    /// <summary>SET_VRING_KICK / SET_VRING_CALL: the vring index in a u64, the eventfd alongside.</summary>
    public void SetVringFd(VhostUserRequest request, uint index, int fd) =>
        SendChecked(request, (ulong)index & VhostUserLimits.VringIndexMask, [fd]);

    /// <summary>SET_MEM_TABLE: u32 nregions, u32 padding, then the regions; one fd per region.</summary>
    public void SetMemTable(ReadOnlySpan<MemoryRegionDescription> regions, ReadOnlySpan<int> fds)
    {
        Span<byte> payload = stackalloc byte[8 + regions.Length * Marshal.SizeOf<MemoryRegionDescription>()];
        payload.Clear();
        MemoryMarshal.Write(payload, (uint)regions.Length);
        MemoryMarshal.AsBytes(regions).CopyTo(payload[8..]);
        _channel.Send((uint)VhostUserRequest.SetMemTable, ReplyAck ? VhostUserHeader.NeedReplyFlag : 0, payload, fds);
        if (ReplyAck) CheckAck(VhostUserRequest.SetMemTable);
    }

    /// <summary>ADD_MEM_REG (CONFIGURE_MEM_SLOTS): one region, its fd alongside.</summary>
    public void AddMemReg(in MemoryRegionDescription region, int fd) =>
        SendChecked(VhostUserRequest.AddMemReg, new MemoryTableEntry { Region = region }, [fd]);

    void SendChecked<T>(VhostUserRequest request, in T payload, ReadOnlySpan<int> fds = default) where T : unmanaged
    {
        _channel.Send(request, payload, ReplyAck, fds);
        if (ReplyAck) CheckAck(request);
    }

    /// <summary>vhost-user.rst, REPLY_ACK: "a reply with a u64 payload … zero for success, non-zero otherwise".</summary>
    void CheckAck(VhostUserRequest request)
    {
        ulong status = WaitReply(request).ReadU64();
        if (status != 0) throw new VhostUserProtocolException($"backend refused {request} (REPLY_ACK status {status})");
    }

    VhostUserMessage WaitReply(VhostUserRequest request)
    {
        if (!_channel.Socket.WaitReadable(ReplyTimeoutMs))
            throw new VhostUserProtocolException($"backend did not answer {request} within {ReplyTimeoutMs} ms");
        _channel.Receive(_reply);
        _reply.CloseFds(); // a reply carries no descriptors we asked for
        if (!_reply.Header.IsReply || _reply.Request != request)
            throw new VhostUserProtocolException($"backend answered {request} with {_reply}");
        return _reply;
    }

    public void Dispose()
    {
        _reply.CloseFds();
        _channel.Dispose();
    }
}
