package validators

import (
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/qumulus/terraform-provider-qumulus/internal/tenant"
)

// QuotaResourceName checks a key of a ResourceQuota's hard limits, as the API server does.
func QuotaResourceName() validator.String {
	return attributeCheck{"must be a resource a ResourceQuota can limit", "Invalid Quota Resource", plain(tenant.CheckQuotaResourceName)}
}

// ContainerResourceName checks a resource of a LimitRange of containers, as the API server does.
func ContainerResourceName() validator.String {
	return attributeCheck{"must be a resource of containers", "Invalid Container Resource", plain(tenant.CheckContainerResourceName)}
}
