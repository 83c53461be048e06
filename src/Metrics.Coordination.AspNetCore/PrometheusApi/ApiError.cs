namespace Metrics.Coordination.AspNetCore.PrometheusApi;

/// <summary>
/// A request failed in a way the API reports as <c>{"status":"error","errorType":...,"error":...}</c> with
/// Prometheus's HTTP status for that type.
/// </summary>
internal sealed class ApiError(string errorType, int statusCode, string message) : Exception(message)
{
    /// <summary>Nginx's code for a client that went away, which Prometheus uses for cancelled queries.</summary>
    public const int StatusClientClosedRequest = 499;

    /// <summary><c>bad_data</c>, <c>execution</c>, <c>timeout</c>, <c>canceled</c>, <c>unavailable</c> or <c>internal</c>.</summary>
    public string ErrorType { get; } = errorType;

    /// <summary>400, 422, 503, 499 or 500.</summary>
    public int StatusCode { get; } = statusCode;

    /// <summary>A missing or malformed parameter (400).</summary>
    public static ApiError BadData(string message) => new("bad_data", 400, message);

    /// <summary>A parameter that did not parse, in Prometheus's wording: <c>invalid parameter "name": why</c>.</summary>
    public static ApiError InvalidParameter(string name, string message) => BadData($"invalid parameter \"{name}\": {message}");

    /// <summary>The query could not be executed (422).</summary>
    public static ApiError Execution(string message) => new("execution", 422, message);

    /// <summary>The query ran out of time (503).</summary>
    public static ApiError Timeout(string message) => new("timeout", 503, message);

    /// <summary>The client cancelled the request (499).</summary>
    public static ApiError Canceled(string message) => new("canceled", StatusClientClosedRequest, message);

    /// <summary>The storage or rules are not there yet, or no more (503): the host is starting or stopping.</summary>
    public static ApiError Unavailable(string message) => new("unavailable", 503, message);

    /// <summary>Something failed inside the server (500).</summary>
    public static ApiError Internal(string message) => new("internal", 500, message);
}
