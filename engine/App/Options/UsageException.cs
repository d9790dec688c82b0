namespace Datapath.App.Options;

/// <summary>A bad command line; the message names the option and the fix.</summary>
public sealed class UsageException(string message) : Exception(message);
