namespace Datapath.Engine.Lcores;

/// <summary>A bad -l / --lcores option; the message names it and what would work.</summary>
public sealed class LcoreConfigException(string message) : Exception(message);
