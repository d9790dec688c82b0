namespace Datapath.Drivers.VhostUser.Backend;

/// <summary>
/// One row of the back-end's dispatch table: the request, how many descriptors it may carry, whether
/// the rings must be quiesced before it runs (it changes what the data path reads), whether it
/// answers with its own reply (so REPLY_ACK does not add one), and the handler.
/// </summary>
public sealed record VhostRequestHandler(
    VhostUserRequest Request,
    int MaxFds,
    bool Quiesce,
    bool Replies,
    Action<VhostUserMessage> Handle);
