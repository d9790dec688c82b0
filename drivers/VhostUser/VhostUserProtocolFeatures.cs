namespace Datapath.Drivers.VhostUser;

/// <summary>Protocol feature bits (vhost-user.rst, "Protocol features"), negotiated after VHOST_USER_F_PROTOCOL_FEATURES.</summary>
[Flags]
public enum VhostUserProtocolFeatures : ulong
{
    None = 0,
    Mq = 1UL << 0,
    LogShmfd = 1UL << 1,
    Rarp = 1UL << 2,
    ReplyAck = 1UL << 3,
    NetMtu = 1UL << 4,
    BackendReq = 1UL << 5,
    CrossEndian = 1UL << 6,
    CryptoSession = 1UL << 7,
    Pagefault = 1UL << 8,
    Config = 1UL << 9,
    BackendSendFd = 1UL << 10,
    HostNotifier = 1UL << 11,
    InflightShmfd = 1UL << 12,
    ResetDevice = 1UL << 13,
    InbandNotifications = 1UL << 14,
    ConfigureMemSlots = 1UL << 15,
    Status = 1UL << 16,
}

public static class VhostUserFeatureBits
{
    /// <summary>Feature bit 30: the back-end speaks protocol features (GET/SET_PROTOCOL_FEATURES).</summary>
    public const ulong ProtocolFeatures = 1UL << 30;
}
