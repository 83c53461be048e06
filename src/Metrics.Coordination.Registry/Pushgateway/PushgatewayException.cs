using System.Net;
using Metrics.Coordination.Abstractions;

namespace Metrics.Coordination.Registry.Pushgateway;

/// <summary>
/// A push or delete failed: the Pushgateway refused it (4xx: <see cref="IsTransient"/> false, retrying the same
/// request cannot help), or every attempt met a 5xx answer, a timeout or a connection failure (<see cref="IsTransient"/> true).
/// </summary>
public sealed class PushgatewayException : MetricsCoordinationException
{
    private readonly bool _isTransient;

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="statusCode">The last HTTP status, or null when no answer came.</param>
    /// <param name="responseBody">The start of the last answer's body, or null.</param>
    /// <param name="attempts">How many attempts were made.</param>
    /// <param name="isTransient">Whether a later retry may succeed.</param>
    /// <param name="innerException">The last transport failure, or null.</param>
    public PushgatewayException(string message, HttpStatusCode? statusCode, string? responseBody, int attempts, bool isTransient, Exception? innerException = null)
        : base(message, innerException)
    {
        StatusCode = statusCode;
        ResponseBody = responseBody;
        Attempts = attempts;
        _isTransient = isTransient;
    }

    /// <summary>The last HTTP status, or null when no answer came (connection refused, timeout).</summary>
    public HttpStatusCode? StatusCode { get; }

    /// <summary>The start of the last answer's body (the Pushgateway says there what it did not like), or null.</summary>
    public string? ResponseBody { get; }

    /// <summary>How many attempts were made.</summary>
    public int Attempts { get; }

    /// <inheritdoc />
    public override bool IsTransient => _isTransient;
}
