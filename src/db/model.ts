import { Model } from 'objection';

/**
 * Base model: snake_case columns map 1:1 to snake_case properties (the API's field names),
 * so there is no mapping layer to keep in step.
 */
export class BaseModel extends Model {
  static override useLimitInFirst = true;
}
