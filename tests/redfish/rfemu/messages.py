"""Redfish messages and error bodies.

The texts below are the subset of DMTF's Base message registry (version
1.16), ResourceEvent (1.3) and SensorEvent (1.0) registries the emulator
emits, written out here so that the emulator needs no registry file.  A
MessageId is "<RegistryPrefix>.<major>.<minor>.<MessageKey>" as DSP0266
describes; an error response is

    {"error": {"code": <MessageId>, "message": <text>,
               "@Message.ExtendedInfo": [<Message>, ...]}}

with code/message taken from the first message when there is one, and
Base GeneralError when there are several.
"""

BASE = "Base.1.16"

# key: (message format, severity, resolution)
_BASE = {
    "Success": ("The request completed successfully.", "OK", "None."),
    "Created": ("The resource has been created successfully.", "OK",
                "None."),
    "GeneralError": (
        "A general error has occurred.  See Resolution for information on "
        "how to resolve the error, or @Message.ExtendedInfo if Resolution "
        "is not provided.", "Critical", "None."),
    "InternalError": (
        "The request failed due to an internal service error.  The service "
        "is still operational.", "Critical",
        "Resubmit the request.  If the problem persists, consider resetting "
        "the service."),
    "MalformedJSON": (
        "The request body submitted was malformed JSON and could not be "
        "parsed by the receiving service.", "Critical",
        "Ensure that the request body is valid JSON and resubmit the "
        "request."),
    "EmptyJSON": (
        "The request body submitted contained an empty JSON object and the "
        "service is unable to process it.", "Warning",
        "Add properties in the JSON object and resubmit the request."),
    "PayloadTooLarge": (
        "The supplied payload exceeds the maximum size supported by the "
        "service.", "Critical",
        "Check that the supplied payload is correct and supported by this "
        "service."),
    "HeaderInvalid": ("Header '%1' is invalid.", "Critical",
                      "Resubmit the request with a valid request header."),
    "NoValidSession": (
        "There is no valid session established with the implementation.",
        "Critical", "Establish a session before attempting any operations."),
    "ResourceAtUriUnauthorized": (
        "While accessing the resource at '%1', the service received an "
        "authorization error '%2'.", "Critical",
        "Ensure that the appropriate access is provided for the service in "
        "order for it to access the URI."),
    "SessionLimitExceeded": (
        "The session establishment failed due to the number of simultaneous "
        "sessions exceeding the limit of the implementation.", "Critical",
        "Reduce the number of other sessions before trying to establish the "
        "session or increase the limit of simultaneous sessions, if "
        "supported."),
    "SessionTerminated": ("The session was successfully terminated.", "OK",
                          "No resolution is required."),
    "ResourceNotFound": (
        "The requested resource of type %1 named '%2' was not found.",
        "Critical",
        "Provide a valid resource identifier and resubmit the request."),
    "OperationNotAllowed": (
        "The HTTP method is not allowed on this resource.", "Critical",
        "None."),
    "ResourceCannotBeDeleted": (
        "The delete request failed because the resource requested cannot be "
        "deleted.", "Critical",
        "Do not attempt to delete a non-deletable resource."),
    "PreconditionFailed": (
        "The ETag supplied did not match the ETag required to change this "
        "resource.", "Critical",
        "Try the operation again using the appropriate ETag."),
    "PropertyUnknown": (
        "The property %1 is not in the list of valid properties for the "
        "resource.", "Warning",
        "Remove the unknown property from the request body and resubmit the "
        "request if the operation failed."),
    "PropertyNotWritable": (
        "The property %1 is a read only property and cannot be assigned a "
        "value.", "Warning",
        "Remove the property from the request body and resubmit the request "
        "if the operation failed."),
    "PropertyMissing": (
        "The property %1 is a required property and must be included in the "
        "request.", "Warning",
        "Ensure that the property is in the request body and has a valid "
        "value and resubmit the request if the operation failed."),
    "PropertyValueNotInList": (
        "The value '%1' for the property %2 is not in the list of acceptable "
        "values.", "Warning",
        "Choose a value from the enumeration list that the implementation "
        "can support and resubmit the request if the operation failed."),
    "PropertyValueTypeError": (
        "The value '%1' for the property %2 is of a different type than the "
        "property can accept.", "Warning",
        "Correct the value for the property in the request body and resubmit "
        "the request if the operation failed."),
    "PropertyValueFormatError": (
        "The value '%1' for the property %2 is of a different format than "
        "the property can accept.", "Warning",
        "Correct the value for the property in the request body and resubmit "
        "the request if the operation failed."),
    "PropertyValueOutOfRange": (
        "The value '%1' for the property %2 is not in the supported range of "
        "acceptable values.", "Warning",
        "Correct the value for the property in the request body and resubmit "
        "the request if the operation failed."),
    "CreateFailedMissingReqProperties": (
        "The create operation failed because the required property %1 was "
        "missing from the request.", "Critical",
        "Correct the body to include the required property with a valid "
        "value and resubmit the request if the operation failed."),
    "ActionNotSupported": (
        "The action %1 is not supported by the resource.", "Critical",
        "The action supplied cannot be resubmitted to the implementation.  "
        "Perhaps the action was invalid, the wrong resource was the target "
        "or the implementation documentation may be of assistance."),
    "ActionParameterMissing": (
        "The action %1 requires the parameter %2 to be present in the "
        "request body.", "Critical",
        "Supply the action with the required parameter in the request body "
        "when the request is resubmitted."),
    "ActionParameterUnknown": (
        "The action %1 was submitted with the invalid parameter %2.",
        "Warning",
        "Correct the invalid action parameter and resubmit the request if "
        "the operation failed."),
    "ActionParameterValueNotInList": (
        "The value '%1' for the parameter %2 in the action %3 is not in the "
        "list of acceptable values.", "Warning",
        "Choose a value from the enumeration list that the implementation "
        "can support and resubmit the request if the operation failed."),
    "ActionParameterValueTypeError": (
        "The value '%1' for the parameter %2 in the action %3 is of a "
        "different type than the parameter can accept.", "Warning",
        "Correct the value for the parameter in the request body and "
        "resubmit the request if the operation failed."),
    "EventSubscriptionLimitExceeded": (
        "The event subscription failed due to the number of simultaneous "
        "subscriptions exceeding the limit of the implementation.",
        "Critical",
        "Reduce the number of other subscriptions before trying to establish "
        "the event subscription or increase the limit of simultaneous "
        "subscriptions, if supported."),
    "ServiceTemporarilyUnavailable": (
        "The service is temporarily unavailable.  Retry in %1 seconds.",
        "Critical",
        "Wait for the indicated retry duration and retry the operation."),
    "QueryNotSupported": (
        "Querying is not supported by the implementation.", "Warning",
        "Remove the query parameters and resubmit the request if the "
        "operation failed."),
    "QueryNotSupportedOnResource": (
        "Querying is not supported on the requested resource.", "Warning",
        "Remove the query parameters and resubmit the request if the "
        "operation failed."),
    "QueryParameterValueFormatError": (
        "The value '%1' for the parameter %2 is of a different format than "
        "the parameter can accept.", "Warning",
        "Correct the value for the query parameter in the request and "
        "resubmit the request if the operation failed."),
    "QueryParameterOutOfRange": (
        "The value '%1' for the query parameter %2 is out of range %3.",
        "Warning",
        "Reduce the value for the query parameter to a value that is within "
        "range, such as a start or count value that is within bounds of the "
        "number of resources in a collection or a page that is within the "
        "range of valid pages."),
    "PropertyValueIncorrect": (
        "The property '%1' with the requested value of '%2' could not be "
        "written because the value does not meet the constraints of the "
        "implementation.", "Warning", "No resolution is required."),
    "PropertyValueResourceConflict": (
        "The property '%1' with the requested value of '%2' could not be "
        "written because the value conflicts with the state or configuration "
        "of the resource at '%3'.", "Warning", "No resolution is required."),
    "ActionParameterValueFormatError": (
        "The value '%1' for the parameter %2 in the action %3 is of a "
        "different format than the parameter can accept.", "Warning",
        "Correct the value for the parameter in the request body and "
        "resubmit the request if the operation failed."),
    "ActionParameterValueError": (
        "The value for the parameter %1 in the action %2 is invalid.",
        "Warning",
        "Correct the value for the parameter in the request body and "
        "resubmit the request if the operation failed."),
    "MissingOrMalformedPart": (
        "The multipart request contains malformed parts or is missing "
        "required parts.", "Critical",
        "Add any missing required parts or correct the malformed parts and "
        "resubmit the request."),
    "ResourceInUse": (
        "The change to the requested resource failed because the resource is "
        "in use or in transition.", "Warning",
        "Remove the condition and resubmit the request if the operation "
        "failed."),
}

# Event registries: MessageId -> (message format, severity)
EVENT_MESSAGES = {
    "ResourceEvent.1.3.ResourcePoweredOn": (
        "The resource '%1' has powered on.", "OK"),
    "ResourceEvent.1.3.ResourcePoweredOff": (
        "The resource '%1' has powered off.", "OK"),
    "ResourceEvent.1.3.ResourceChanged": (
        "One or more resource properties have changed.", "OK"),
    "SensorEvent.1.0.ReadingAboveUpperCautionThreshold": (
        "Sensor '%1' reading of %2 (%3) is above the %4 upper caution "
        "threshold.", "Warning"),
    "SensorEvent.1.0.ReadingAboveUpperCriticalThreshold": (
        "Sensor '%1' reading of %2 (%3) is above the %4 upper critical "
        "threshold.", "Critical"),
    "SensorEvent.1.0.ReadingBelowLowerCautionThreshold": (
        "Sensor '%1' reading of %2 (%3) is below the %4 lower caution "
        "threshold.", "Warning"),
    "SensorEvent.1.0.ReadingBelowLowerCriticalThreshold": (
        "Sensor '%1' reading of %2 (%3) is below the %4 lower critical "
        "threshold.", "Critical"),
    "SensorEvent.1.0.SensorReadingNormalRange": (
        "Sensor '%1' reading of %2 (%3) is within normal operating range.",
        "OK"),
}


def fmt(template, args):
    """Substitute %1..%N (highest first, so %1 does not eat %10)."""
    text = template
    for i in range(len(args), 0, -1):
        text = text.replace("%%%d" % i, str(args[i - 1]))
    return text


def message(key, *args, related=None, detail=None):
    """A Base registry Message object (as in @Message.ExtendedInfo).
    `detail` (a sentence) is appended to the registry text, to say why."""
    template, severity, resolution = _BASE[key]
    text = fmt(template, args)
    if detail:
        text += " " + detail
    msg = {
        "@odata.type": "#Message.v1_1_1.Message",
        "MessageId": "%s.%s" % (BASE, key),
        "Message": text,
        "MessageArgs": [str(a) for a in args],
        "MessageSeverity": severity,
        "Severity": severity,
        "Resolution": resolution,
    }
    if related:
        msg["RelatedProperties"] = list(related)
    return msg


def custom_message(message_id, text, severity="OK", args=(),
                   related=None, resolution=None):
    """A Message object of another registry (TaskEvent, Update, the
    emulator's own), with the text given."""
    msg = {
        "@odata.type": "#Message.v1_1_1.Message",
        "MessageId": message_id,
        "Message": text,
        "MessageArgs": [str(a) for a in args],
        "MessageSeverity": severity,
        "Severity": severity,
    }
    if resolution:
        msg["Resolution"] = resolution
    if related:
        msg["RelatedProperties"] = list(related)
    return msg


def event_message(message_id, *args):
    """(text, severity) for an event-registry MessageId."""
    template, severity = EVENT_MESSAGES[message_id]
    return fmt(template, args), severity


def error_body(messages):
    if len(messages) == 1:
        code, text = messages[0]["MessageId"], messages[0]["Message"]
    else:
        code = "%s.GeneralError" % BASE
        text = fmt(_BASE["GeneralError"][0], ())
    return {"error": {"code": code, "message": text,
                      "@Message.ExtendedInfo": list(messages)}}


def success_body():
    return {"@Message.ExtendedInfo": [message("Success")]}


class RedfishError(Exception):
    """Raised by a handler: answered as `status` with a Redfish error body."""

    def __init__(self, status, messages, headers=None):
        super().__init__("%d %s" % (status, messages[0]["MessageId"]
                                    if messages else ""))
        self.status = status
        self.messages = list(messages)
        self.headers = dict(headers or {})

    def body(self):
        return error_body(self.messages)


def err(status, key, *args, related=None, headers=None, detail=None):
    """A RedfishError with one Base message."""
    return RedfishError(status, [message(key, *args, related=related,
                                         detail=detail)],
                        headers=headers)
