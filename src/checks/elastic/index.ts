// The Elastic and Kibana checks, in report order. Ids are a public contract.
import type {Check} from '../../engine/types.js'
import {kibanaDashboards} from '../kibana/dashboards.js'
import {kibanaPackage} from '../kibana/package.js'
import {esConnect} from './connect.js'
import type {ElasticCheckContext} from './context.js'
import {esDataset} from './dataset.js'
import {esFields} from './fields.js'
import {esFreshness} from './freshness.js'
import {esPipelineErrors} from './pipeline-errors.js'
import {esPipeline} from './pipeline.js'
import {esSimulate} from './simulate.js'
import {esTemplate} from './template.js'

export type {ElasticCheckContext, ElasticCheckOptions, ElasticProfile} from './context.js'

export const elasticChecks: Check<ElasticCheckContext>[] = [
  esConnect,
  esDataset,
  esFreshness,
  esFields,
  esPipelineErrors,
  esPipeline,
  esTemplate,
  esSimulate,
  kibanaPackage,
  kibanaDashboards,
]
